// LOOKASIDE_AUTH_MODE=kubernetes against the fake apiserver: projected ServiceAccount tokens are
// verified with TokenReview and bound to their pod's endpoint, over real gRPC.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Metadata, status } from '@grpc/grpc-js';
import { FakeApiServer } from './kubernetes/fake-apiserver.js';
import { endpoint, ip, slice } from './kubernetes/helpers.js';
import { clients, type Clients } from './support/protos.js';
import { startServiceProcess, type RunningService } from './support/lookaside.js';
import { bearer, openBalanceLoad, openReport } from './support/streams.js';

const PORT = 50051;
const SA_LABEL = 'lookaside.io/service-account';

describe('kubernetes auth: TokenReview, bound to the pod and to the Service label', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lookaside-k8s-auth-'));
  const apiserver = new FakeApiServer();
  let service: RunningService;
  let c: Clients;
  const pod = (i: number, serviceAccount = 'echo', extra: { audiences?: string[] } = {}) =>
    apiserver.issueToken({ namespace: 'demo', serviceAccount, podName: `pod-${i}`, ...extra });

  /** Registers `host` for `name` with `token` and returns how the stream ended (or 'registered'). */
  const attempt = async (token: string | undefined, name: string, host: string) => {
    const r = openReport(c, token === undefined ? new Metadata() : bearer(token));
    r.register(name, host, PORT);
    const outcome = await Promise.race([r.registered().then(() => 'registered' as const), r.recorded.ended()]);
    if (outcome === 'registered') {
      r.stream.end();
      await r.recorded.ended();
    }
    return outcome;
  };
  const refusal = async (token: string | undefined, name: string, host: string) => {
    const outcome = await attempt(token, name, host);
    assert.notEqual(outcome, 'registered', `${host} for ${name} must be refused`);
    return outcome as Exclude<typeof outcome, 'registered'>;
  };

  before(async () => {
    await apiserver.start();
    apiserver.apply(slice('echo-a', 'echo', [endpoint(1), endpoint(2)], { labels: { [SA_LABEL]: 'echo' } }));
    apiserver.apply(slice('other-a', 'other', [endpoint(5)]));
    const kubeconfig = join(dir, 'config');
    apiserver.writeKubeconfig(kubeconfig);
    service = await startServiceProcess({
      env: {
        KUBECONFIG: kubeconfig,
        LOOKASIDE_K8S: 'on',
        LOOKASIDE_K8S_SERVICES: 'echo=demo/echo:grpc,other=demo/other:grpc',
        LOOKASIDE_AUTH_MODE: 'kubernetes',
        LOOKASIDE_AUTH_K8S_NEGATIVE_CACHE_TTL_MS: '100',
        // Every attempt here shares one connection; the rate limit has its own test (limits).
        LOOKASIDE_MAX_REGISTRATIONS_PER_SECOND: '1000',
      },
    });
    c = clients(service.grpcAddress);
  });
  after(async () => {
    c?.close();
    await service?.stop();
    await apiserver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a pod registers its own endpoint; its token is reviewed once and then cached', async () => {
    const token = pod(1);
    const before = apiserver.requests.tokenReviews;
    assert.equal(await attempt(token, 'echo', ip(1)), 'registered');
    assert.equal(await attempt(token, 'echo', ip(1)), 'registered');
    assert.equal(apiserver.requests.tokenReviews - before, 1, 'the second registration used the cache');
    const metrics = await (await fetch(`http://127.0.0.1:${service.httpPort}/metrics`)).text();
    assert.match(metrics, /^lookaside_token_reviews_total 1$/m);
  });

  it("refuses another pod's endpoint and an address outside the Service", async () => {
    const taken = await refusal(pod(1), 'echo', ip(2));
    assert.equal(taken.code, status.PERMISSION_DENIED);
    assert.match(taken.details, new RegExp(`^registration\\.host: ${ip(2).replace(/\./g, '\\.')}:${PORT} is not an endpoint of pod demo/pod-1`));
    const outside = await refusal(pod(1), 'echo', '10.9.9.9');
    assert.equal(outside.code, status.PERMISSION_DENIED);
  });

  it("refuses a ServiceAccount the Service's label does not name, and a Service without the label", async () => {
    const intruder = await refusal(pod(2, 'intruder'), 'echo', ip(2));
    assert.equal(intruder.code, status.PERMISSION_DENIED);
    assert.match(intruder.details, /^registration\.service: ServiceAccount demo\/intruder may not report for "echo": the Service's label lookaside\.io\/service-account names "echo"/);
    const unlabelled = await refusal(pod(5), 'other', ip(5));
    assert.equal(unlabelled.code, status.PERMISSION_DENIED);
    assert.match(unlabelled.details, /label lookaside\.io\/service-account is not set/);
  });

  it('refuses tokens not bound to a pod, for an unwatched service, revoked, for another audience, or none', async () => {
    const unbound = await refusal(apiserver.issueToken({ namespace: 'demo', serviceAccount: 'echo' }), 'echo', ip(1));
    assert.equal(unbound.code, status.PERMISSION_DENIED);
    assert.match(unbound.details, /not bound to a pod: use a projected ServiceAccount token/);
    const unwatched = await refusal(pod(1), 'elsewhere', ip(1));
    assert.equal(unwatched.code, status.PERMISSION_DENIED);
    assert.match(unwatched.details, /^registration\.service: "elsewhere" is not backed by a watched Kubernetes Service/);
    const revoked = pod(2);
    apiserver.revokeToken(revoked);
    const revokedEnd = await refusal(revoked, 'echo', ip(2));
    assert.equal(revokedEnd.code, status.UNAUTHENTICATED);
    assert.match(revokedEnd.details, /^authorization: the Kubernetes API rejected the token/);
    const foreign = await refusal(pod(2, 'echo', { audiences: ['https://kubernetes.default.svc'] }), 'echo', ip(2));
    assert.equal(foreign.code, status.UNAUTHENTICATED);
    const missing = await refusal(undefined, 'echo', ip(2));
    assert.equal(missing.code, status.UNAUTHENTICATED);
    assert.match(missing.details, /a bearer token is required/);
  });

  it('answers UNAVAILABLE (retry) when the TokenReview API fails, then recovers', async () => {
    apiserver.failNext('tokenreview', 500, 1);
    const token = pod(2);
    const failed = await refusal(token, 'echo', ip(2));
    assert.equal(failed.code, status.UNAVAILABLE);
    assert.match(failed.details, /cannot verify the token with the Kubernetes API now/);
    assert.equal(await attempt(token, 'echo', ip(2)), 'registered', 'a failure is not cached');
  });

  it('nothing refused was stored: the assignment holds only the endpoints', async () => {
    const lb = openBalanceLoad(c, 'echo');
    await lb.waitForBackends([`${ip(1)}:${PORT}`, `${ip(2)}:${PORT}`]);
    lb.stream.cancel();
  });
});
