// The lookaside resolver + policy inside real grpc-js channels, against real grpc-js backends
// and a scripted lookaside (support/fake-lookaside.ts) over loopback.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { CHANNEL_OPTION, registerLookaside } from '../src/index.js';
import { callMany, callOnce, echoClient, sleep, startBackend, waitFor, type TestBackend } from './support/backends.js';
import { FakeLookaside } from './support/fake-lookaside.js';
import { closedPort } from './support/ports.js';

const ms = (n: number) => ({ seconds: Math.floor(n / 1000), nanos: (n % 1000) * 1e6 });

function backendOf(b: TestBackend, weight: number, token: string) {
  return { host: '127.0.0.1', port: b.port, weight, loadBalanceToken: token, state: 'SERVING' as const };
}

describe('lookaside policy with a scripted lookaside', () => {
  let lookaside: FakeLookaside;
  const backends: TestBackend[] = [];

  before(async () => {
    registerLookaside({ backoff: { initialMs: 50, maxMs: 500 } });
    lookaside = await FakeLookaside.start();
    for (const name of ['a', 'b', 'c']) backends.push(await startBackend(name));
  });
  after(async () => {
    lookaside.stop();
    await Promise.all(backends.map((b) => b.stop()));
  });

  test('spreads 1,000 calls within 10% of the weights and, when asked, sends each backend its lb-token', async () => {
    const [a, b, c] = backends;
    lookaside.push('weights', { version: 1, backends: [backendOf(a, 1, 'ta'), backendOf(b, 2, 'tb'), backendOf(c, 3, 'tc')] });
    const client = echoClient(`lookaside://${lookaside.address}/weights`, { [CHANNEL_OPTION.sendLoadBalanceToken]: true });
    try {
      assert.equal((await callOnce(client, 5000, true)).ok, true);
      // Eager connect: all three are READY soon after the first call.
      await sleep(100);
      const before = new Map(backends.map((x) => [x.name, x.tokens.get(`t${x.name}`) ?? 0]));
      const { counts, failures } = await callMany(client, 1000, 10);
      assert.equal(failures.length, 0);
      const expected: Record<string, number> = { a: 1000 / 6, b: 2000 / 6, c: 3000 / 6 };
      for (const [name, want] of Object.entries(expected)) {
        const got = counts.get(name) ?? 0;
        // Not exact: the local refinement passes over a backend whose calls were caught in a
        // pause of this busy process (observed up to 6 % off on a loaded 2-core machine).
        assert.ok(Math.abs(got - want) <= 0.1 * want, `backend ${name}: ${got} calls, expected ${want.toFixed(0)} ±10%`);
        const x = backends.find((y) => y.name === name)!;
        assert.equal((x.tokens.get(`t${name}`) ?? 0) - before.get(name)!, got, `lb-token t${name} on every call to ${name}`);
      }
    } finally {
      client.close();
    }
  });

  test('follows assignment changes without reconnecting backends that stay', async () => {
    const [a, b, c] = backends;
    lookaside.push('follow', { version: 1, backends: [backendOf(a, 1, 'ta'), backendOf(b, 1, 'tb')] });
    const client = echoClient(`lookaside://${lookaside.address}/follow`);
    try {
      await callOnce(client, 5000, true);
      const peersA = new Set(a.peers);
      const r1 = await callMany(client, 100, 5);
      assert.ok((r1.counts.get('a') ?? 0) > 0 && (r1.counts.get('b') ?? 0) > 0);
      const newPeersA = [...a.peers].filter((p) => !peersA.has(p));
      lookaside.push('follow', { version: 2, backends: [backendOf(a, 1, 'ta'), backendOf(c, 1, 'tc')] });
      await waitFor(() => c.peers.size > 0, 2000, 'c connected');
      await sleep(50);
      const bCalls = b.calls;
      const r2 = await callMany(client, 100, 5);
      assert.equal(r2.failures.length, 0);
      assert.equal(b.calls, bCalls, 'b gets no call once unassigned');
      assert.ok((r2.counts.get('c') ?? 0) > 30, 'c takes its share');
      // a kept its one connection from this client: no peer port appeared after the update.
      const added = [...a.peers].filter((p) => !peersA.has(p) && !newPeersA.includes(p));
      assert.deepEqual(added, [], 'no reconnect to a');
    } finally {
      client.close();
    }
  });

  test('never picks an unreachable backend while another is READY', async () => {
    const [a] = backends;
    const dead = await closedPort();
    lookaside.push('partial', {
      version: 1,
      backends: [backendOf(a, 1, 'ta'), { host: '127.0.0.1', port: dead, weight: 100, loadBalanceToken: 'dead' }],
    });
    const client = echoClient(`lookaside://${lookaside.address}/partial`);
    try {
      const { counts, failures } = await callMany(client, 200, 10);
      assert.equal(failures.length, 0, failures[0]?.error?.message);
      assert.equal(counts.get('a'), 200);
    } finally {
      client.close();
    }
  });

  test('counts calls per token and reports them as ClientLoad at the interval asked, without sending lb-token by default', async () => {
    const [a, b] = backends;
    lookaside.clientLoads.length = 0;
    lookaside.push('stats', {
      version: 1,
      clientStatsInterval: ms(100),
      backends: [backendOf(a, 1, 'stats-a'), backendOf(b, 1, 'stats-b')],
    });
    const client = echoClient(`lookaside://${lookaside.address}/stats`);
    try {
      await callOnce(client, 5000, true);
      await callMany(client, 99, 5);
      const sum = (token: string, field: 'callsStarted' | 'callsFinished' | 'callsFailed') =>
        lookaside.clientLoads.flatMap((l) => l.tokens).filter((t) => t.loadBalanceToken === token).reduce((s, t) => s + Number(t[field]), 0);
      await waitFor(() => sum('stats-a', 'callsFinished') + sum('stats-b', 'callsFinished') === 100, 2000, 'ClientLoad for 100 calls');
      assert.equal(sum('stats-a', 'callsStarted') + sum('stats-b', 'callsStarted'), 100);
      assert.equal(sum('stats-a', 'callsFailed') + sum('stats-b', 'callsFailed'), 0);
      assert.ok(sum('stats-a', 'callsStarted') >= 40 && sum('stats-b', 'callsStarted') >= 40);
      assert.equal((a.tokens.get('stats-a') ?? 0) + (b.tokens.get('stats-b') ?? 0), 0, 'no lb-token on the wire unless lookaside.send_lb_token');
    } finally {
      client.close();
    }
  });

  test('drops the share of calls the assignment asks for, and counts them', async () => {
    const [a] = backends;
    lookaside.clientLoads.length = 0;
    lookaside.push('shed', { version: 1, dropPpm: 250_000, clientStatsInterval: ms(100), backends: [backendOf(a, 1, 'shed-a')] });
    const client = echoClient(`lookaside://${lookaside.address}/shed`);
    try {
      await callOnce(client, 5000, true);
      const { counts, failures } = await callMany(client, 400, 4);
      assert.ok(Math.abs(failures.length - 100) <= 2, `${failures.length} dropped of 400`);
      assert.equal((counts.get('a') ?? 0) + failures.length, 400);
      assert.equal(failures[0].error!.code, status.UNAVAILABLE);
      assert.match(failures[0].error!.details, /dropped by load shedding/);
      await waitFor(() => lookaside.clientLoads.reduce((s, l) => s + Number(l.callsDropped), 0) >= failures.length, 2000, 'drops reported');
    } finally {
      client.close();
    }
  });

  test('an empty assignment fails calls with a clear UNAVAILABLE', async () => {
    lookaside.push('empty', { version: 7, backends: [] });
    const client = echoClient(`lookaside://${lookaside.address}/empty`);
    try {
      const r = await callOnce(client, 5000);
      assert.equal(r.ok, false);
      assert.equal(r.error!.code, status.UNAVAILABLE);
      assert.match(r.error!.details, /assignment for "empty" \(version 7\).*lists no backends/);
    } finally {
      client.close();
    }
  });

  test('a fallback response sends calls to the fallback addresses, or fails them clearly without any', async () => {
    const [a, , c] = backends;
    lookaside.push('fb', { version: 3, fallback: true });
    const withFallback = echoClient(`lookaside://${lookaside.address}/fb`, { 'lookaside.fallback': `ipv4:${c.address}` });
    const without = echoClient(`lookaside://${lookaside.address}/fb`);
    try {
      const r = await callOnce(withFallback, 5000);
      assert.equal(r.backend, 'c');
      const f = await callOnce(without, 5000);
      assert.equal(f.error?.code, status.UNAVAILABLE);
      assert.match(f.error!.details, /has no backends for "fb" and no fallback is configured/);
      // The lookaside assigns backends again: both channels follow it.
      lookaside.push('fb', { version: 4, backends: [backendOf(a, 1, 'ta')] });
      const deadline = Date.now() + 3000;
      let last = await callOnce(withFallback, 1000);
      while (last.backend !== 'a' && Date.now() < deadline) last = await callOnce(withFallback, 1000);
      assert.equal(last.backend, 'a');
      assert.equal((await callOnce(without, 3000, true)).backend, 'a');
    } finally {
      withFallback.close();
      without.close();
    }
  });

  test("keeps the channel's own method configs, e.g. retries", async () => {
    const [a] = backends;
    lookaside.push('retry', { version: 1, backends: [backendOf(a, 1, 'ta')] });
    const retryPolicy = { maxAttempts: 3, initialBackoff: '0.01s', maxBackoff: '0.05s', backoffMultiplier: 2, retryableStatusCodes: ['INTERNAL'] };
    const serviceConfig = { loadBalancingConfig: [], methodConfig: [{ name: [{ service: 'lookaside.test.Echo' }], retryPolicy }] };
    const client = echoClient(`lookaside://${lookaside.address}/retry`, { 'grpc.service_config': JSON.stringify(serviceConfig) });
    try {
      await callOnce(client, 5000, true);
      const before = a.calls;
      const r = await callOnce(client, 5000, false, 'fail');
      assert.equal(r.error?.code, status.INTERNAL);
      assert.equal(a.calls - before, 3, 'three attempts: the retry policy applies');
    } finally {
      client.close();
    }
  });

  test('no lookaside and no fallback: calls fail fast with UNAVAILABLE naming the lookaside address', async () => {
    const port = await closedPort();
    const client = echoClient(`lookaside://127.0.0.1:${port}/nothing`);
    try {
      const start = Date.now();
      const r = await callOnce(client, 10_000);
      const took = Date.now() - start;
      assert.equal(r.error?.code, status.UNAVAILABLE);
      assert.match(r.error!.details, new RegExp(`lookaside at 127\\.0\\.0\\.1:${port} is unreachable`));
      assert.ok(took < 2000, `failed after ${took} ms`);
    } finally {
      client.close();
    }
  });

  test('no lookaside at start: calls go to the fallback list', async () => {
    const [a, b] = backends;
    const port = await closedPort();
    const client = echoClient(`lookaside://127.0.0.1:${port}/offline`, { 'lookaside.fallback': `ipv4:${a.address},${b.address}` });
    try {
      const { counts, failures } = await callMany(client, 50, 5);
      assert.equal(failures.length, 0, failures[0]?.error?.details);
      assert.ok((counts.get('a') ?? 0) > 10 && (counts.get('b') ?? 0) > 10);
    } finally {
      client.close();
    }
  });

  test('a lookaside that never answers: fallback after the fallback timeout', async () => {
    const [a] = backends;
    // The fake has no assignment for this service, so the stream stays open and silent.
    const client = echoClient(`lookaside://${lookaside.address}/silent`, {
      'lookaside.fallback': a.address,
      'lookaside.fallback_timeout_ms': 300,
    });
    try {
      const start = Date.now();
      const r = await callOnce(client, 5000);
      const took = Date.now() - start;
      assert.equal(r.backend, 'a');
      assert.ok(took >= 250 && took < 2000, `fallback after ${took} ms`);
    } finally {
      client.close();
    }
  });
});

describe('static stability', () => {
  test('the lookaside going away changes nothing; a new one on the same address is followed', async () => {
    registerLookaside({ backoff: { initialMs: 50, maxMs: 300 } });
    const a = await startBackend('a');
    const b = await startBackend('b');
    let lookaside = await FakeLookaside.start();
    const port = lookaside.port;
    lookaside.push('stable', { version: 1, backends: [backendOf(a, 1, 'ta')] });
    const client = echoClient(`lookaside://127.0.0.1:${port}/stable`);
    try {
      assert.equal((await callOnce(client, 5000, true)).backend, 'a');
      lookaside.stop();
      await sleep(300);
      const { counts, failures } = await callMany(client, 100, 5);
      assert.equal(failures.length, 0);
      assert.equal(counts.get('a'), 100);
      lookaside = await FakeLookaside.start(port);
      // A replica that has not loaded the service yet answers "version 0, fallback".
      lookaside.push('stable', { version: 0, fallback: true });
      await waitFor(() => lookaside.watcherCount > 0, 3000, 'the SDK to reconnect');
      await sleep(50);
      assert.deepEqual((await callMany(client, 20, 2)).counts.get('a'), 20, 'the placeholder does not wipe the backends');
      lookaside.push('stable', { version: 2, backends: [backendOf(b, 1, 'tb')] });
      const start = Date.now();
      let r = await callOnce(client);
      while (r.backend !== 'b' && Date.now() - start < 3000) r = await callOnce(client);
      assert.equal(r.backend, 'b');
    } finally {
      client.close();
      lookaside.stop();
      await a.stop();
      await b.stop();
    }
  });
});
