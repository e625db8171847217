import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import type { ListBackendsResponse__Output } from '../src/generated/lookaside/v1/ListBackendsResponse.js';
import type { ListServicesResponse__Output } from '../src/generated/lookaside/v1/ListServicesResponse.js';
import type { Assignment__Output } from '../src/generated/lookaside/v1/Assignment.js';
import { clients, type Clients } from './support/protos.js';
import { startService, type RunningService } from './support/lookaside.js';
import { waitFor } from './support/ports.js';
import { bearer, openBalanceLoad, openReport, Recorded } from './support/streams.js';

const TOKENS = {
  echo: 'echo-backend-token-0001',
  echoOther: 'echo-other-token-00001',
  shop: 'shop-backend-token-0001',
  web: 'web-reader-token-000001',
  ops: 'ops-reader-token-000001',
  temporary: 'temporary-token-0000001',
};

const tokenFile = (withTemporary: boolean) =>
  JSON.stringify({
    tokens: [
      { name: 'echo-backends', token: TOKENS.echo, report: ['echo'], hosts: ['127.0.0.0/8'] },
      { name: 'echo-other', token: TOKENS.echoOther, report: ['echo'] },
      { name: 'shop-backends', token: TOKENS.shop, report: ['shop-*'] },
      { name: 'web', token: TOKENS.web, read: ['echo'] },
      // Only its hash is in the file: the secret need not be.
      { name: 'ops', sha256: createHash('sha256').update(TOKENS.ops).digest('hex'), read: ['*'] },
      ...(withTemporary ? [{ name: 'temporary', token: TOKENS.temporary, report: ['echo'], read: ['echo'] }] : []),
    ],
  });

function unary<Res>(call: (metadata: Metadata, done: (err: ServiceError | null, res?: Res) => void) => void, metadata = new Metadata()): Promise<Res> {
  return new Promise((resolve, reject) => call(metadata, (err, res) => (err ? reject(err) : resolve(res!))));
}

describe('auth: tokens mode, every attack attempted over real gRPC', () => {
  let dir: string;
  let file: string;
  let service: RunningService;
  let c: Clients;
  let owner: ReturnType<typeof openReport>;

  const listBackends = (name: string, token = TOKENS.ops) =>
    unary<ListBackendsResponse__Output>((m, done) => c.registry.ListBackends({ service: name }, m, done), bearer(token));
  const metrics = async () => {
    const res = await fetch(`http://127.0.0.1:${service.httpPort}/metrics`, { headers: { authorization: `Bearer ${TOKENS.ops}` } });
    assert.equal(res.status, 200);
    return res.text();
  };
  const rejections = async (api: string, reason: string) => {
    const match = new RegExp(`^lookaside_auth_rejections_total\\{api="${api}",reason="${reason}"\\} (\\d+)$`, 'm').exec(await metrics());
    return match ? Number(match[1]) : 0;
  };
  /** Opens a report stream with `metadata`, registers, and returns how it ended. */
  const refused = async (metadata: Metadata, registration: { service: string; host: string; port: number; state?: 'DRAINING' }) => {
    const r = openReport(c, metadata);
    r.register(registration.service, registration.host, registration.port, registration.state ? { state: registration.state } : {});
    return r.recorded.ended();
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lookaside-auth-'));
    file = join(dir, 'tokens.json');
    writeFileSync(file, tokenFile(true));
    service = await startService({
      env: {
        LOOKASIDE_AUTH_MODE: 'tokens',
        LOOKASIDE_AUTH_TOKEN_FILE: file,
        LOOKASIDE_AUTH_READERS: 'all',
        LOOKASIDE_FILE_RELOAD_INTERVAL_MS: '100',
      },
    });
    c = clients(service.grpcAddress);
    owner = openReport(c, bearer(TOKENS.echo));
    owner.register('echo', '127.0.0.1', 9001);
    await owner.registered();
  });
  after(async () => {
    owner.stream.end();
    await owner.recorded.ended();
    c.close();
    await service.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a reporter without a token: UNAUTHENTICATED, nothing stored, counted', async () => {
    const before = await rejections('report', 'missing');
    const ended = await refused(new Metadata(), { service: 'echo', host: '127.0.0.1', port: 9100 });
    assert.equal(ended.code, status.UNAUTHENTICATED);
    assert.match(ended.details, /^authorization: a bearer token is required/);
    assert.deepEqual((await listBackends('echo')).backends.map((b) => b.backendId), ['127.0.0.1:9001']);
    assert.equal(await rejections('report', 'missing'), before + 1);
  });

  it('refuses an unknown token and a malformed header', async () => {
    const unknown = await refused(bearer('not-a-token-anyone-issued'), { service: 'echo', host: '127.0.0.1', port: 9101 });
    assert.equal(unknown.code, status.UNAUTHENTICATED);
    assert.match(unknown.details, /unknown token/);
    const basic = new Metadata();
    basic.set('authorization', 'Basic ZWNobzplY2hv');
    const malformed = await refused(basic, { service: 'echo', host: '127.0.0.1', port: 9102 });
    assert.equal(malformed.code, status.UNAUTHENTICATED);
    assert.match(malformed.details, /must be "Bearer <token>"/);
    assert.equal((await listBackends('echo')).backends.length, 1);
  });

  it('refuses a token registering for a service it may not report for', async () => {
    const ended = await refused(bearer(TOKENS.echo), { service: 'shop-a', host: '127.0.0.1', port: 9103 });
    assert.equal(ended.code, status.PERMISSION_DENIED);
    assert.match(ended.details, /^registration\.service: token "echo-backends" may not report for "shop-a"/);
    const services = await unary<ListServicesResponse__Output>((m, done) => c.registry.ListServices({}, m, done), bearer(TOKENS.ops));
    assert.ok(!services.services.some((s) => s.name === 'shop-a'), 'nothing stored');
  });

  it('refuses an address outside the token\'s hosts', async () => {
    const ended = await refused(bearer(TOKENS.echo), { service: 'echo', host: '10.1.2.3', port: 9104 });
    assert.equal(ended.code, status.PERMISSION_DENIED);
    assert.match(ended.details, /^registration\.host: token "echo-backends" may not register 10\.1\.2\.3/);
  });

  it('refuses another principal superseding a registration or marking it DRAINING; the owner is unaffected', async () => {
    const before = await rejections('report', 'owned');
    for (const state of [undefined, 'DRAINING'] as const) {
      const ended = await refused(bearer(TOKENS.echoOther), { service: 'echo', host: '127.0.0.1', port: 9001, state });
      assert.equal(ended.code, status.PERMISSION_DENIED);
      assert.match(ended.details, /^registration\.host: 127\.0\.0\.1:9001 of "echo" is registered by another principal/);
    }
    assert.equal(await rejections('report', 'owned'), before + 2);
    const [listed] = (await listBackends('echo')).backends;
    assert.equal(listed.state, 'SERVING');
    const acked = owner.recorded.messages.length;
    owner.report();
    await owner.recorded.next('the owner still reports', () => true, acked);
    assert.equal(owner.recorded.status, undefined, 'the owner stream is still open');
  });

  it('readers: Registry, Watch and BalanceLoad need a token and see only what it may read', async () => {
    await assert.rejects(
      unary((m, done) => c.registry.ListServices({}, m, done)),
      (e: ServiceError) => e.code === status.UNAUTHENTICATED,
    );
    const visible = await unary<ListServicesResponse__Output>((m, done) => c.registry.ListServices({}, m, done), bearer(TOKENS.web));
    assert.deepEqual(visible.services.map((s) => s.name), ['echo']);
    await assert.rejects(listBackends('shop-a', TOKENS.web), (e: ServiceError) => e.code === status.PERMISSION_DENIED && /may not read "shop-a"/.test(e.details));

    const anonymous = c.assignments.Watch();
    const anonymousWatch = new Recorded<Assignment__Output>(anonymous);
    anonymous.write({ start: { service: 'echo' } });
    assert.equal((await anonymousWatch.ended()).code, status.UNAUTHENTICATED);
    assert.equal(anonymousWatch.messages.length, 0);

    const stream = c.assignments.Watch(bearer(TOKENS.web));
    const watch = new Recorded<Assignment__Output>(stream);
    stream.write({ start: { service: 'echo' } });
    const assignment = await watch.next('echo assignment', (a) => a.backends.length === 1);
    assert.equal(assignment.backends[0].port, 9001);
    stream.cancel();

    const denied = c.assignments.Watch(bearer(TOKENS.web));
    const deniedRecord = new Recorded<Assignment__Output>(denied);
    denied.write({ start: { service: 'shop-a' } });
    const deniedEnd = await deniedRecord.ended();
    assert.equal(deniedEnd.code, status.PERMISSION_DENIED);
    assert.match(deniedEnd.details, /^start\.service: token "web" may not read "shop-a"/);

    const grpclb = openBalanceLoad(c, 'echo:50051');
    const grpclbEnd = await grpclb.recorded.ended();
    assert.equal(grpclbEnd.code, status.UNAUTHENTICATED);
    assert.equal(grpclb.recorded.messages.length, 0, 'not even the initial response');
    const allowed = openBalanceLoad(c, 'echo:50051', bearer(TOKENS.web));
    await allowed.waitForBackends(['127.0.0.1:9001']);
    allowed.stream.cancel();
  });

  it('a revoked token ends its open streams, and its backend leaves at once', async () => {
    const reporter = openReport(c, bearer(TOKENS.temporary));
    reporter.register('echo', '127.0.0.1', 9200);
    await reporter.registered();
    const stream = c.assignments.Watch(bearer(TOKENS.temporary));
    const watch = new Recorded<Assignment__Output>(stream);
    stream.write({ start: { service: 'echo' } });
    await watch.next('both backends', (a) => a.backends.length === 2);
    const observer = openBalanceLoad(c, 'echo', bearer(TOKENS.ops));
    await observer.waitForBackends(['127.0.0.1:9001', '127.0.0.1:9200']);

    writeFileSync(file, tokenFile(false));
    const reporterEnd = await reporter.recorded.ended();
    assert.equal(reporterEnd.code, status.UNAUTHENTICATED);
    assert.match(reporterEnd.details, /revoked/);
    const watchEnd = await watch.ended();
    assert.equal(watchEnd.code, status.UNAUTHENTICATED);
    await observer.waitForBackends(['127.0.0.1:9001']);
    observer.stream.cancel();
    const again = await refused(bearer(TOKENS.temporary), { service: 'echo', host: '127.0.0.1', port: 9201 });
    assert.equal(again.code, status.UNAUTHENTICATED);
    assert.match(await metrics(), /^lookaside_file_reloads_total\{file="tokens",result="ok"\} 1$/m);
  });

  it('a broken token file is refused and the last good one kept', async () => {
    writeFileSync(file, '{"tokens": [ not json');
    await waitFor('the bad file noticed', async () => (/^lookaside_file_reloads_total\{file="tokens",result="error"\} 1$/m.test(await metrics()) ? true : undefined));
    const r = openReport(c, bearer(TOKENS.echo));
    r.register('echo', '127.0.0.1', 9300);
    await r.registered();
    r.stream.end();
    await r.recorded.ended();
    writeFileSync(file, tokenFile(false));
  });

  it('the admin port: probes open, data only with a token that may read it', async () => {
    const base = `http://127.0.0.1:${service.httpPort}`;
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    assert.equal((await fetch(`${base}/metrics`)).status, 401);
    assert.equal((await fetch(`${base}/api/fleet`)).status, 401);
    assert.equal((await fetch(`${base}/dashboard/events`)).status, 401);
    assert.equal((await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKENS.web}` } })).status, 403, 'per-backend metrics need read "*"');
    const fleet = (await (await fetch(`${base}/api/fleet`, { headers: { authorization: `Bearer ${TOKENS.web}` } })).json()) as { services: Array<{ name: string }> };
    assert.deepEqual(fleet.services.map((s) => s.name), ['echo']);
  });
});
