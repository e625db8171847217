// Redis over TLS with credentials, in each mode, against real servers that accept nothing else:
// TLS only, client certificates required, a password or an ACL user. What users rely on: with
// REDIS_TLS_CA_FILE (a private CA) and a client certificate the service is ready and its state
// lands in Redis; a wrong CA or password leaves it not ready, saying why.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ListBackendsResponse__Output } from '../src/generated/lookaside/v1/ListBackendsResponse.js';
import { startService, type RunningService } from './support/lookaside.js';
import { waitFor } from './support/ports.js';
import { clients } from './support/protos.js';
import { makeRedisTls, startRedisCluster, startRedisSentinel, startRedisTlsServer, type RedisTestTls } from './support/redis-cluster.js';
import { uniquePrefix } from './support/redis.js';
import { openReport, steadyLoad } from './support/streams.js';

const PASSWORD = 'tls-test-secret';
/** How long a replica may take to become ready or to give up on a bad Redis. */
const READY_WITHIN_MS = 15_000;

const tlsEnv = (tls: RedisTestTls) => ({ REDIS_TLS_CA_FILE: tls.caFile, REDIS_TLS_CERT_FILE: tls.clientCertFile, REDIS_TLS_KEY_FILE: tls.clientKeyFile });

async function readyz(service: RunningService): Promise<{ status: number; body: { status: string; store?: string; reason?: string } }> {
  const res = await fetch(`http://127.0.0.1:${service.httpPort}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; store?: string; reason?: string } };
}

/** Starts a replica on `env`, registers one backend through it and lists it back; returns its readiness. */
async function registersThrough(env: Record<string, string>, prefix: string) {
  const service = await startService({ env: { ...env, LOOKASIDE_REDIS_PREFIX: prefix } });
  const c = clients(service.grpcAddress);
  try {
    const ready = await waitFor('the replica ready', async () => {
      const r = await readyz(service);
      return r.status === 200 ? r.body : undefined;
    }, READY_WITHIN_MS, 50);
    const report = openReport(c);
    report.register('svc', '10.0.0.1', 7000, { load: steadyLoad(10, 0.5) });
    await report.registered();
    const listed = await new Promise<ListBackendsResponse__Output>((resolve, reject) => c.registry.ListBackends({ service: 'svc' }, (err, res) => (err ? reject(err) : resolve(res!))));
    assert.deepEqual(listed.backends.map((b) => b.backendId), ['10.0.0.1:7000']);
    report.stream.end();
    return ready;
  } finally {
    c.close();
    await service.stop();
  }
}

/** Starts a replica on `env` and resolves with the reason /readyz gives once it has failed to connect. */
async function notReadyBecause(env: Record<string, string>): Promise<string> {
  const service = await startService({ env });
  try {
    return await waitFor('readiness to say why not', async () => {
      const r = await readyz(service);
      assert.equal(r.status, 503, JSON.stringify(r.body));
      return r.body.reason?.startsWith('store: not connected: ') ? r.body.reason : undefined;
    }, READY_WITHIN_MS, 50);
  } finally {
    await service.stop();
  }
}

describe('Redis over TLS with credentials', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lookaside-redis-tls-'));
  let tls: RedisTestTls;
  let other: RedisTestTls;
  before(() => {
    tls = makeRedisTls(dir);
    other = makeRedisTls(mkdtempSync(join(dir, 'other-')));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('one Redis: rediss:// URL, an ACL user', () => {
    let server: Awaited<ReturnType<typeof startRedisTlsServer>>;
    before(async () => {
      server = await startRedisTlsServer({ tls, user: 'lookaside', password: PASSWORD });
    });
    after(async () => server?.stop());

    it('is ready, and the registration is in Redis', async () => {
      const prefix = uniquePrefix();
      const ready = await registersThrough({ REDIS_URL: server.url, ...tlsEnv(tls) }, prefix);
      assert.match(ready.store ?? '', /^Redis store at rediss:\/\/\*\*\*@127\.0\.0\.1:\d+$/);
      assert.equal(await server.cli('HLEN', `${prefix}:{svc}:members`), '1');
    });

    it('is not ready with a CA that did not sign the server, or without a client certificate, or with a wrong password', async () => {
      const cases: Array<[string, Record<string, string>, RegExp]> = [
        ['another CA', { REDIS_URL: server.url, ...tlsEnv(other) }, /certificate/],
        // The server resets the handshake; what the client sees depends on timing.
        ['no client certificate', { REDIS_URL: server.url, REDIS_TLS_CA_FILE: tls.caFile }, /./],
        ['a wrong password', { REDIS_URL: server.url.replace(PASSWORD, 'wrong'), ...tlsEnv(tls) }, /WRONGPASS/],
      ];
      for (const [what, env, why] of cases) assert.match(await notReadyBecause(env), why, what);
    });
  });

  it('a Redis Cluster with REDIS_TLS=on and REDIS_PASSWORD: ready, the registration in the cluster', async () => {
    const cluster = await startRedisCluster({ tls, password: PASSWORD });
    try {
      const prefix = uniquePrefix();
      const env = { REDIS_CLUSTER_NODES: cluster.nodes.map((n) => `${n.host}:${n.port}`).join(','), REDIS_PASSWORD: PASSWORD, REDIS_TLS: 'on', ...tlsEnv(tls) };
      const ready = await registersThrough(env, prefix);
      assert.match(ready.store ?? '', /^Redis Cluster store \(seeds .*, TLS\)$/);
      const counts = await Promise.all(cluster.nodes.map((n) => cluster.cli(n.port, '-c', 'HLEN', `${prefix}:{svc}:members`)));
      assert.deepEqual(counts, ['1', '1', '1'], 'every node, following MOVED, finds the one registration');
    } finally {
      await cluster.stop();
    }
  });

  it('Sentinel with REDIS_TLS=on (Sentinels and primary) and REDIS_PASSWORD: ready, the registration on the primary', async () => {
    const sentinel = await startRedisSentinel({ tls, password: PASSWORD });
    try {
      const prefix = uniquePrefix();
      const env = { REDIS_SENTINELS: sentinel.sentinels.map((s) => `${s.host}:${s.port}`).join(','), REDIS_PASSWORD: PASSWORD, REDIS_TLS: 'on', ...tlsEnv(tls) };
      const ready = await registersThrough(env, prefix);
      assert.match(ready.store ?? '', /^Redis Sentinel store \(master set "mymaster" via .*, TLS\)$/);
      assert.equal(await sentinel.cli(await sentinel.primaryPort(), 'HLEN', `${prefix}:{svc}:members`), '1');
    } finally {
      await sentinel.stop();
    }
  });
});
