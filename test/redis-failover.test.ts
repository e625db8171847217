// A Redis primary failover under load, on a real Sentinel set and on a real Redis Cluster with
// replicas: lookaside on it, three SDK backends reporting through the SDK's reporter, and an SDK
// client calling them all along. What users rely on: no call fails, and afterwards every backend
// is listed again, reporting to the new primary, within one lease.
import assert from 'node:assert/strict';
import type { ServiceError } from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import type { ListBackendsResponse__Output } from '../src/generated/lookaside/v1/ListBackendsResponse.js';
import { BackendReporter, registerLookaside } from '../client-sdk/src/index.js';
import { echoClient, sleep, startBackend, steadyTraffic, type EchoClientInstance, type TestBackend } from '../client-sdk/test/support/backends.js';
import { startService, type RunningService } from './support/lookaside.js';
import { waitFor } from './support/ports.js';
import { clients, type Clients } from './support/protos.js';
import { startRedisCluster, startRedisSentinel } from './support/redis-cluster.js';
import { uniquePrefix } from './support/redis.js';

const LEASE_TTL_MS = 3000; // the default
/** Reports every 200 ms, as the SDK's integration tests do. */
const SERVICE_ENV = { LOOKASIDE_REPORT_INTERVAL_MS: '200', LOOKASIDE_LOAD_PUSH_INTERVAL_MS: '200' };
const FAST_BACKOFF = { initialMs: 50, maxMs: 500 };
const CALLS_PER_SECOND = 100;
const NAMES = ['a', 'b', 'c'];
const CLUSTER_PASSWORD = 'cluster-test-secret';

/** A Redis deployment that can lose its primary, as the test drives it. */
interface FailoverTarget {
  /** The service's Redis settings. */
  env: Record<string, string>;
  /** The primary of `key` fails over; resolves once the new one serves. */
  failover(key: string): Promise<{ from: number; to: number }>;
  cli(port: number, ...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

function failoverUnderLoad(title: string, startRedis: () => Promise<FailoverTarget>): void {
  describe(title, () => {
    let redis: FailoverTarget;
    let service: RunningService;
    let registry: Clients;
    let client: EchoClientInstance;
    const prefix = uniquePrefix();
    const membersKey = `${prefix}:{svc}:members`;
    const backends: Array<{ backend: TestBackend; reporter: BackendReporter; reconnects: number }> = [];

    before(async () => {
      redis = await startRedis();
      registerLookaside({ backoff: FAST_BACKOFF });
      service = await startService({ env: { ...SERVICE_ENV, ...redis.env, LOOKASIDE_REDIS_PREFIX: prefix } });
      registry = clients(service.grpcAddress);
      for (const name of NAMES) {
        const reporter = new BackendReporter({ service: 'svc', lookasideAddress: service.grpcAddress, host: '127.0.0.1', backoff: FAST_BACKOFF });
        const backend = await startBackend(name, { interceptors: [reporter.interceptor] });
        reporter.attach(backend.server);
        const entry = { backend, reporter, reconnects: 0 };
        reporter.on('disconnected', () => entry.reconnects++);
        reporter.start({ port: backend.port });
        await reporter.whenRegistered(5000);
        backends.push(entry);
      }
      client = echoClient(`lookaside://${service.grpcAddress}/svc`);
    });
    after(async () => {
      client?.close();
      for (const { reporter, backend } of backends) {
        await reporter.stop();
        await backend.stop();
      }
      registry?.close();
      await service?.stop();
      await redis?.stop();
    });

    const listBackends = () =>
      new Promise<ListBackendsResponse__Output>((resolve, reject) =>
        registry.registry.ListBackends({ service: 'svc' }, (err: ServiceError | null, res?: ListBackendsResponse__Output) => (err ? reject(err) : resolve(res!))),
      );

    it('fails no call and lists every backend again within a lease', async () => {
      const ids = backends.map((b) => `127.0.0.1:${b.backend.port}`).sort();
      await waitFor('all three listed', async () => ((await listBackends()).backends.length === 3 ? true : undefined), 5000, 50);
      const traffic = steadyTraffic(client, CALLS_PER_SECOND, 30_000);
      await sleep(1500);
      const failoverStarted = Date.now();
      const { from, to } = await redis.failover(membersKey);
      const failedOverAt = Date.now();
      assert.notEqual(from, to);
      // Every backend listed with a report newer than the failover, read through the new primary.
      const relistedMs = await waitFor(
        'every backend reporting again',
        async () => {
          const listed = (await listBackends().catch(() => undefined))?.backends ?? [];
          const fresh = listed.filter((b) => Number(b.lastReportUnixMs) > failedOverAt).map((b) => b.backendId);
          return fresh.length === 3 ? Date.now() - failedOverAt : undefined;
        },
        LEASE_TTL_MS,
        50,
      );
      assert.deepEqual(
        (await listBackends()).backends.map((b) => b.backendId).sort(),
        ids,
      );
      assert.equal(await redis.cli(to, 'HLEN', membersKey), '3', 'the new primary holds all three');
      await sleep(1500);
      const outcomes = await traffic.stop();
      const failed = outcomes.filter((o) => !o.ok);
      const served = new Set(outcomes.filter((o) => o.ok).map((o) => o.backend));
      const afterFailover = outcomes.filter((o) => o.at > failedOverAt).length;
      console.log(
        `figure: ${title}: :${from} -> :${to} in ${failedOverAt - failoverStarted} ms; ${outcomes.length} calls (${afterFailover} after it), ${failed.length} failed; ` +
          `all backends reporting again ${relistedMs} ms after; reporter reconnects ${backends.map((b) => b.reconnects).join('/')}`,
      );
      assert.deepEqual(failed.map((o) => o.error?.details), [], 'no call failed');
      assert.ok(afterFailover > CALLS_PER_SECOND, `calls went on after the failover (${afterFailover})`);
      assert.equal(served.size, 3, 'all three backends served calls');
    });
  });
}

failoverUnderLoad('Sentinel failover under load', async () => {
  const sentinel = await startRedisSentinel();
  return {
    env: { REDIS_SENTINELS: sentinel.sentinels.map((s) => `${s.host}:${s.port}`).join(',') },
    failover: () => sentinel.failover(),
    cli: sentinel.cli,
    stop: () => sentinel.stop(),
  };
});

// The primary crashes (SIGKILL): its slots are unwritable until its replica is elected.
failoverUnderLoad('Redis Cluster failover under load (password-protected nodes)', async () => {
  const cluster = await startRedisCluster({ replicas: true, password: CLUSTER_PASSWORD });
  return {
    env: { REDIS_CLUSTER_NODES: cluster.nodes.map((n) => `${n.host}:${n.port}`).join(','), REDIS_PASSWORD: CLUSTER_PASSWORD },
    failover: (key) => cluster.killPrimaryOf(key),
    cli: cluster.cli,
    stop: () => cluster.stop(),
  };
});
