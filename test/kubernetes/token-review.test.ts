/**
 * TokenReviewer with the real @kubernetes/client-node AuthenticationV1Api against the fake
 * apiserver's TokenReview endpoint, over HTTP on loopback.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KubernetesMembership } from '../../src/kubernetes/kubernetes-membership.js';
import { loadKubernetesConfig } from '../../src/kubernetes/kubernetes.config.js';
import { TokenReviewer, TokenReviewUnavailableError, type TokenReviewResult } from '../../src/kubernetes/token-review.js';
import { FakeApiServer } from './fake-apiserver.js';
import { endpoint, ip, kubeConfigFor, sleep, slice } from './helpers.js';

function identity(result: TokenReviewResult) {
  assert.equal(result.authenticated, true, result.authenticated ? '' : result.reason);
  return result.identity;
}

function reason(result: TokenReviewResult): string {
  assert.equal(result.authenticated, false, 'rejected');
  return result.reason;
}

/** The `exp` claim of a JWT, in milliseconds. */
function expiryMs(token: string): number {
  return (JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { exp: number }).exp * 1000;
}

describe('TokenReviewer against the TokenReview API', () => {
  const server = new FakeApiServer();
  const reviewer = (env: Record<string, string> = {}, url = server.url): TokenReviewer =>
    new TokenReviewer(loadKubernetesConfig({ KUBECONFIG: '/unused', ...env }), kubeConfigFor(url));
  /** How many TokenReviews the apiserver answers while `fn` runs. */
  async function sent(fn: () => Promise<unknown>): Promise<number> {
    const before = server.requests.tokenReviews;
    await fn();
    return server.requests.tokenReviews - before;
  }

  before(() => server.start());
  after(() => server.close());

  it("returns a pod-bound token's ServiceAccount and pod", async () => {
    const r = reviewer();
    const token = server.issueToken({ namespace: 'demo', serviceAccount: 'echo', podName: 'echo-6d4cf-x2x9z', podUid: 'pod-uid-1' });
    let result!: TokenReviewResult;
    assert.equal(await sent(async () => (result = await r.review(token))), 1);
    assert.deepEqual(identity(result), {
      username: 'system:serviceaccount:demo:echo',
      namespace: 'demo',
      serviceAccount: 'echo',
      podName: 'echo-6d4cf-x2x9z',
      podUid: 'pod-uid-1',
    });
    assert.deepEqual(r.stats, { reviews: 1, cacheHits: 0 });
  });

  it("gives podName '' for a token that is not bound to a pod", async () => {
    const result = await reviewer().review(server.issueToken({ namespace: 'demo', serviceAccount: 'ci' }));
    assert.deepEqual(identity(result), { username: 'system:serviceaccount:demo:ci', namespace: 'demo', serviceAccount: 'ci', podName: '', podUid: '' });
  });

  it('answers the same token again from the cache', async () => {
    const r = reviewer();
    const token = server.issueToken({ namespace: 'demo', serviceAccount: 'echo', podName: 'p1' });
    const first = await r.review(token);
    assert.equal(await sent(async () => assert.deepEqual(await r.review(token), first)), 0);
    assert.deepEqual(r.stats, { reviews: 1, cacheHits: 1 });
  });

  it("never trusts a cached acceptance past the token's expiry", async () => {
    const r = reviewer({ LOOKASIDE_AUTH_K8S_CACHE_TTL_MS: '600000' });
    const token = server.issueToken({ namespace: 'demo', serviceAccount: 'echo', podName: 'p1', expiresInS: 1 });
    identity(await r.review(token));
    await sleep(expiryMs(token) - Date.now() + 20);
    let result!: TokenReviewResult;
    assert.equal(await sent(async () => (result = await r.review(token))), 1, 'asked again once expired');
    assert.match(reason(result), /expired/);
    assert.equal(r.stats.cacheHits, 0);
  });

  it('remembers a rejection for the negative TTL, then asks again', async () => {
    const r = reviewer({ LOOKASIDE_AUTH_K8S_NEGATIVE_CACHE_TTL_MS: '200' });
    const token = server.issueToken({ namespace: 'demo', serviceAccount: 'echo', podName: 'p1' });
    server.revokeToken(token);
    assert.match(reason(await r.review(token)), /invalidated/);
    assert.equal(await sent(async () => assert.match(reason(await r.review(token)), /invalidated/)), 0, 'within the negative TTL');
    await sleep(250);
    assert.equal(await sent(() => r.review(token)), 1, 'after the negative TTL');
    assert.deepEqual(r.stats, { reviews: 2, cacheHits: 1 });
  });

  it('rejects a token meant for another audience', async () => {
    const token = server.issueToken({ namespace: 'demo', serviceAccount: 'echo', podName: 'p1', audiences: ['vault'] });
    assert.match(reason(await reviewer().review(token)), /audiences/);
  });

  it('asks for the configured audiences, any of which will do', async () => {
    const token = server.issueToken({ namespace: 'demo', serviceAccount: 'echo', podName: 'p1', audiences: ['https://lookaside.example'] });
    identity(await reviewer({ LOOKASIDE_AUTH_K8S_AUDIENCES: 'lookaside,https://lookaside.example' }).review(token));
  });

  it('rejects an acceptance that names none of its audiences (an audience-unaware authenticator)', async () => {
    const token = server.issueToken({ namespace: 'demo', serviceAccount: 'echo', podName: 'p1' });
    server.audienceAware = false;
    try {
      assert.match(reason(await reviewer().review(token)), /not meant for lookaside \(audiences returned: none\)/);
    } finally {
      server.audienceAware = true;
    }
  });

  it('rejects a user that is not a ServiceAccount', async () => {
    const token = server.issueUserToken({ username: 'alice', groups: ['developers'] });
    assert.equal(reason(await reviewer().review(token)), '"alice" is not a ServiceAccount');
  });

  it('rejects a token the apiserver does not know', async () => {
    assert.match(reason(await reviewer().review('not-a-token')), /invalid bearer token/);
  });

  it('sends one request for concurrent reviews of one token', async () => {
    const r = reviewer();
    const token = server.issueToken({ namespace: 'demo', serviceAccount: 'echo', podName: 'p1' });
    let results: TokenReviewResult[] = [];
    assert.equal(await sent(async () => (results = await Promise.all(Array.from({ length: 10 }, () => r.review(token))))), 1);
    for (const result of results) assert.equal(identity(result).podName, 'p1');
    assert.equal(r.stats.reviews, 1);
  });

  it('throws TokenReviewUnavailableError on a 5xx, without caching it or quoting the token', async () => {
    const r = reviewer();
    const token = server.issueToken({ namespace: 'demo', serviceAccount: 'echo', podName: 'p1' });
    server.failNext('tokenreview', 500, 1);
    const error = await r.review(token).then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof TokenReviewUnavailableError);
    assert.match(error.message, /HTTP 500/);
    assert.ok(!error.message.includes(token));
    identity(await r.review(token));
    assert.deepEqual(r.stats, { reviews: 2, cacheHits: 0 });
  });

  it('says RBAC is missing on a 403', async () => {
    server.failNext('tokenreview', 403, 1);
    await assert.rejects(
      reviewer().review(server.issueToken({ namespace: 'demo', serviceAccount: 'echo' })),
      (e: unknown) => e instanceof TokenReviewUnavailableError && /HTTP 403/.test(e.message) && /RBAC is missing/.test(e.message) && /tokenreviews/.test(e.message),
    );
  });

  it('gives up after the timeout', async () => {
    const r = reviewer({ LOOKASIDE_AUTH_K8S_TIMEOUT_MS: '100' });
    const token = server.issueToken({ namespace: 'demo', serviceAccount: 'echo', podName: 'p1' });
    server.tokenReviewDelayMs = 1000;
    const started = Date.now();
    try {
      await assert.rejects(r.review(token), (e: unknown) => e instanceof TokenReviewUnavailableError && /within 100 ms/.test(e.message));
    } finally {
      server.tokenReviewDelayMs = 0;
    }
    assert.ok(Date.now() - started < 800, 'did not wait for the answer');
    identity(await r.review(token));
  });

  it('is unavailable when the apiserver is unreachable, or without credentials', async () => {
    const token = server.issueToken({ namespace: 'demo', serviceAccount: 'echo' });
    const gone = new FakeApiServer();
    await gone.start();
    await gone.close();
    await assert.rejects(
      reviewer({}, gone.url).review(token),
      (e: unknown) => e instanceof TokenReviewUnavailableError && /unreachable \(ECONNREFUSED/.test(e.message),
    );
    const noCredentials = new TokenReviewer(loadKubernetesConfig({}), null);
    await assert.rejects(noCredentials.review(token), new TokenReviewUnavailableError('no Kubernetes credentials'));
    assert.equal(noCredentials.stats.reviews, 0);
  });

  it('keeps at most cacheSize tokens, evicting the oldest', async () => {
    const r = reviewer({ LOOKASIDE_AUTH_K8S_CACHE_SIZE: '2' });
    const [a, b, c] = ['a', 'b', 'c'].map((pod) => server.issueToken({ namespace: 'demo', serviceAccount: 'echo', podName: pod }));
    for (const t of [a, b, c]) await r.review(t);
    assert.equal(await sent(() => r.review(c)), 0);
    assert.equal(await sent(() => r.review(b)), 0);
    assert.equal(await sent(() => r.review(a)), 1, 'the oldest was evicted');
    assert.deepEqual(r.stats, { reviews: 4, cacheHits: 2 });
  });
});

describe('endpoints carry what a token is bound against', () => {
  it("has each endpoint's namespace and its Service's service-account label", async () => {
    const server = new FakeApiServer();
    await server.start();
    server.apply(slice('echo-1', 'echo', [endpoint(1), endpoint(2)], { namespace: 'shop', labels: { 'lookaside.io/service-account': 'echo-reporter' } }));
    const m = new KubernetesMembership(loadKubernetesConfig({ KUBECONFIG: '/unused', LOOKASIDE_K8S_SERVICES: 'echo=shop/echo' }), kubeConfigFor(server.url));
    try {
      m.start();
      assert.equal(await m.whenSynced(5000), true);
      assert.deepEqual(
        m.endpoints('echo')!.map((e) => [e.host, e.podName, e.namespace, e.serviceAccount]),
        [
          [ip(1), 'pod-1', 'shop', 'echo-reporter'],
          [ip(2), 'pod-2', 'shop', 'echo-reporter'],
        ],
      );
    } finally {
      await m.stop();
      await server.close();
    }
  });
});
