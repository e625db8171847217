// The Redis store over a real local Redis Cluster (3 primaries) and a real Sentinel set (primary,
// replica, 3 Sentinels): the same contract as over one Redis, plus what each mode adds: change
// events keep flowing, and a resync is asked for, after the subscriber connections were lost.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RedisConnection } from '../src/config/redis-connection.js';
import { RedisStore } from '../src/store/redis.store.js';
import type { BackendIdentity, ChangeEvent, Sample } from '../src/store/types.js';
import { STATS_WINDOW_MS, storeContract } from './store.contract.js';
import { waitFor } from './support/ports.js';
import { cli, startRedisCluster, startRedisSentinel, type TestRedisCluster, type TestRedisSentinel } from './support/redis-cluster.js';
import { uniquePrefix } from './support/redis.js';

const SAMPLE: Sample = { state: 'SERVING', load: null, smoothed: null, recent: null };

function backend(service: string, port: number): BackendIdentity {
  return { service, id: `10.0.0.1:${port}`, host: '10.0.0.1', port, zone: '', labels: {}, token: `t${port}`, session: `s${port}`, principal: '' };
}

/** Subscribes to `service`, counts resyncs, and checks that a registration is announced. */
async function listening(store: RedisStore, service: string) {
  const events: ChangeEvent[] = [];
  let resyncs = 0;
  store.onResync(() => resyncs++);
  await store.subscribe(service, (e) => events.push(e));
  let port = 7000;
  const announced = async (what: string) => {
    const before = events.length;
    await store.register(backend(service, ++port), SAMPLE, 60_000, 100);
    await waitFor(`${what}: the registration announced`, () => (events.length > before ? true : undefined), 10_000);
  };
  return { resyncs: () => resyncs, announced };
}

storeContract('redis cluster', async () => {
  const cluster = await startRedisCluster();
  const connection: RedisConnection = { mode: 'cluster', nodes: cluster.nodes, username: undefined, password: undefined, tls: false };
  const prefix = uniquePrefix();
  return { open: async () => new RedisStore(connection, prefix, STATS_WINDOW_MS), teardown: () => cluster.stop() };
});

storeContract('redis sentinel', async () => {
  const sentinel = await startRedisSentinel();
  const connection: RedisConnection = {
    mode: 'sentinel',
    sentinels: sentinel.sentinels,
    name: sentinel.name,
    sentinelPassword: undefined,
    username: undefined,
    password: undefined,
    tls: false,
  };
  const prefix = uniquePrefix();
  return { open: async () => new RedisStore(connection, prefix, STATS_WINDOW_MS), teardown: () => sentinel.stop() };
});

describe('redis cluster: connection loss', () => {
  let cluster: TestRedisCluster;
  let store: RedisStore;
  before(async () => {
    cluster = await startRedisCluster();
    store = new RedisStore({ mode: 'cluster', nodes: cluster.nodes, username: undefined, password: undefined, tls: false }, uniquePrefix(), STATS_WINDOW_MS);
  });
  after(async () => {
    await store?.close();
    await cluster?.stop();
  });

  it('names the mode and the seeds, and keeps every key of a service in one slot', async () => {
    assert.match(store.description, /^Redis Cluster store \(seeds 127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+\)$/);
    // Services spread over the primaries; each one's keys (and so its scripts) stay in one slot.
    const services = Array.from({ length: 12 }, (_, i) => `spread-${i}`);
    for (const [i, s] of services.entries()) await store.register(backend(s, 9000 + i), SAMPLE, 60_000, 100);
    const owners = new Set<number>();
    for (const node of cluster.nodes) {
      const keys = (await cli(node.port, '--scan')).split('\n').filter((k) => k.includes('{spread-'));
      if (keys.length > 0) owners.add(node.port);
      const slots = new Map<string, Set<string>>();
      for (const key of keys) {
        const service = /\{(spread-\d+)\}/.exec(key)![1];
        const slot = await cli(node.port, 'CLUSTER', 'KEYSLOT', key);
        slots.set(service, (slots.get(service) ?? new Set()).add(slot));
      }
      for (const [service, set] of slots) assert.equal(set.size, 1, `${service}: keys in ${set.size} slots`);
    }
    assert.ok(owners.size >= 2, `12 services on ${owners.size} primary: they should spread`);
    assert.deepEqual((await store.listServices()).filter((s) => s.startsWith('spread-')), [...services].sort());
  });

  it('resubscribes and asks for a resync after its subscriber connections are killed', async () => {
    const { resyncs, announced } = await listening(store, 'after-kill');
    await announced('before the kill');
    assert.equal(resyncs(), 0, 'no resync while nothing was lost');
    for (const node of cluster.nodes) await cli(node.port, 'CLIENT', 'KILL', 'TYPE', 'pubsub');
    await waitFor('a resync', () => (resyncs() > 0 ? true : undefined), 15_000);
    await announced('after the kill');
  });
});

describe('redis sentinel: failover', () => {
  let sentinel: TestRedisSentinel;
  let store: RedisStore;
  const prefix = uniquePrefix();
  before(async () => {
    sentinel = await startRedisSentinel();
    store = new RedisStore(
      { mode: 'sentinel', sentinels: sentinel.sentinels, name: sentinel.name, sentinelPassword: undefined, username: undefined, password: undefined, tls: false },
      prefix,
      STATS_WINDOW_MS,
    );
  });
  after(async () => {
    await store?.close();
    await sentinel?.stop();
  });

  it('follows a failover: state survives, writes go to the new primary, events flow again after a resync', async () => {
    assert.match(store.description, /^Redis Sentinel store \(master set "mymaster" via 127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+\)$/);
    const { resyncs, announced } = await listening(store, 'failover');
    await announced('before the failover');
    const { to } = await sentinel.failover();
    await waitFor('a resync', () => (resyncs() > 0 ? true : undefined), 15_000);
    await announced('after the failover');
    const snapshot = await store.snapshot('failover');
    assert.equal(snapshot.backends.length, 2, 'the registration from before the failover was replicated');
    const onNewPrimary = await cli(to, 'HLEN', `${prefix}:{failover}:members`);
    assert.equal(onNewPrimary, '2', 'both registrations are on the new primary');
  });
});
