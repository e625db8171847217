import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { clients, type Clients } from './support/protos.js';
import { startService, type RunningService } from './support/lookaside.js';
import { startRedis, uniquePrefix, type TestRedis } from './support/redis.js';
import { openBalanceLoad, openReport } from './support/streams.js';
import { waitFor } from './support/ports.js';

const LEASE_TTL_MS = 3000; // the default

describe('end to end: reports in, grpclb server lists out (Redis store)', () => {
  let redis: TestRedis;
  let service: RunningService;
  let c: Clients;

  before(async () => {
    redis = await startRedis();
    service = await startService({ redisUrl: redis.url, redisPrefix: uniquePrefix() });
    c = clients(service.grpcAddress);
  });
  after(async () => {
    c?.close();
    await service?.stop();
    await redis?.stop();
  });

  it('lists reporting backends with their tokens and follows every membership change', async () => {
    const lb = openBalanceLoad(c, 'echo:50051');
    const initial = await lb.recorded.next('initial response', (m) => !!m.initialResponse);
    assert.equal(lb.recorded.messages[0], initial, 'the initial response comes first');
    assert.ok(Number(initial.initialResponse!.clientStatsReportInterval!.seconds) >= 1, 'client stats are asked for');
    await lb.recorded.next('fallback while the service is unknown', (m) => !!m.fallbackResponse);

    const backends = [7001, 7002, 7003].map((port) => {
      const r = openReport(c);
      r.register('echo', '127.0.0.1', port);
      r.report();
      return r;
    });
    const acks = await Promise.all(backends.map((b) => b.registered()));
    await lb.waitForBackends(['127.0.0.1:7001', '127.0.0.1:7002', '127.0.0.1:7003']);
    const tokens = new Map(lb.latestList()!.map((s) => [s.address, s.token]));
    for (const [i, ack] of acks.entries()) {
      assert.equal(ack.backendId, `127.0.0.1:${7001 + i}`);
      assert.equal(tokens.get(ack.backendId), ack.loadBalanceToken, 'each entry carries its backend token');
      assert.ok(ack.loadBalanceToken.length > 0 && ack.loadBalanceToken.length < 50);
    }
    const raw = lb.recorded.messages.findLast((m) => m.serverList)!.serverList!.servers[0];
    assert.equal(raw.ipAddress.length, 4, 'addresses are packed IPv4 bytes');

    // A clean end of the report stream removes the backend at once.
    const closedAt = Date.now();
    backends[0].stream.end();
    const goneAt = await lb.waitForBackends(['127.0.0.1:7002', '127.0.0.1:7003'], 2000);
    assert.ok(goneAt - closedAt <= 250, `clean close took ${goneAt - closedAt} ms to reach the client (goal 250 ms)`);
    assert.equal((await backends[0].recorded.ended()).code, 0, 'the backend sees its stream end OK');

    // A new backend is listed quickly.
    const added = openReport(c);
    const addedAt = Date.now();
    added.register('echo', '127.0.0.1', 7004);
    const listedAt = await lb.waitForBackends(['127.0.0.1:7002', '127.0.0.1:7003', '127.0.0.1:7004'], 2000);
    assert.ok(listedAt - addedAt <= 500, `new backend took ${listedAt - addedAt} ms (goal 500 ms)`);
    for (const b of [...backends.slice(1), added]) b.stream.end();
    lb.stream.cancel();
  });

  it('keeps a SIGKILLed backend until its lease expires, then removes it', async () => {
    const lb = openBalanceLoad(c, 'crashy');
    const child = spawn(
      process.execPath,
      ['--import', '@swc-node/register/esm-register', 'test/support/reporter-process.ts', service.grpcAddress, 'crashy', '7101'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await once(child.stdout!, 'data');
    await lb.waitForBackends(['127.0.0.1:7101']);
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await once(child, 'exit');
    // Still listed shortly after the kill: a broken stream is not a goodbye.
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(
      lb.latestList()!.map((s) => s.address),
      ['127.0.0.1:7101'],
    );
    const goneAt = await lb.waitForBackends([], LEASE_TTL_MS + 3000);
    const took = goneAt - killedAt;
    assert.ok(took >= LEASE_TTL_MS - 500, `removed after ${took} ms, before the ${LEASE_TTL_MS} ms lease could run out`);
    assert.ok(took <= LEASE_TTL_MS + 1500, `removed after ${took} ms, long after the ${LEASE_TTL_MS} ms lease`);
    assert.ok(lb.recorded.messages.at(-1)!.fallbackResponse, 'no backends left: the client is told to fall back');
    lb.stream.cancel();
  });
});

describe('two replicas sharing one Redis', () => {
  let redis: TestRedis;
  let a: RunningService;
  let b: RunningService;
  let ca: Clients;
  let cb: Clients;

  before(async () => {
    redis = await startRedis();
    const prefix = uniquePrefix();
    [a, b] = await Promise.all([
      startService({ redisUrl: redis.url, redisPrefix: prefix }),
      startService({ redisUrl: redis.url, redisPrefix: prefix }),
    ]);
    ca = clients(a.grpcAddress);
    cb = clients(b.grpcAddress);
  });
  after(async () => {
    ca?.close();
    cb?.close();
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
  });

  it('a backend reports to one replica, a client streams from the other', async () => {
    const lb = openBalanceLoad(cb, 'shared');
    await lb.recorded.next('fallback', (m) => !!m.fallbackResponse);
    const reporter = openReport(ca);
    const startedAt = Date.now();
    reporter.register('shared', '127.0.0.1', 7201);
    const listedAt = await lb.waitForBackends(['127.0.0.1:7201']);
    assert.ok(listedAt - startedAt <= 500, `cross-replica propagation took ${listedAt - startedAt} ms (goal 500 ms)`);

    // The same state gives the same list on both replicas.
    const direct = openBalanceLoad(ca, 'shared');
    await direct.waitForBackends(['127.0.0.1:7201']);
    assert.deepEqual(direct.latestList(), lb.latestList());

    const endedAt = Date.now();
    reporter.stream.end();
    const goneAt = await lb.waitForBackends([]);
    assert.ok(goneAt - endedAt <= 500, `cross-replica removal took ${goneAt - endedAt} ms`);
    lb.stream.cancel();
    direct.stream.cancel();
  });

  it('pushes load-only changes at most once per interval, and nothing when the list is unchanged', async () => {
    const lb = openBalanceLoad(cb, 'steady');
    const fast = openReport(ca);
    const slow = openReport(ca);
    fast.register('steady', '127.0.0.1', 7301);
    slow.register('steady', '127.0.0.1', 7302);
    await lb.waitForBackends(['127.0.0.1:7301', '127.0.0.1:7302']);
    const lists = () => lb.recorded.messages.filter((m) => m.serverList).length;
    const before = lists();
    // Identical reports change no weight: nothing is re-sent.
    for (let i = 0; i < 10; i++) {
      fast.report();
      slow.report();
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 1200));
    const afterSteady = lists();
    assert.ok(afterSteady - before <= 1, `unchanged assignments were re-sent ${afterSteady - before} times`);
    // A stream of changing loads: coalesced to about one push per second.
    const start = lists();
    const t0 = Date.now();
    for (let i = 0; i < 20; i++) {
      fast.report({ cpuUtilization: 0.1 + (i % 5) * 0.1, rpsFractional: 100 });
      slow.report({ cpuUtilization: 0.5, rpsFractional: 100 });
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 300));
    const seconds = (Date.now() - t0) / 1000;
    const pushes = lists() - start;
    assert.ok(pushes >= 1, 'load changes do reach the client');
    assert.ok(pushes <= Math.ceil(seconds) + 1, `${pushes} pushes in ${seconds.toFixed(1)} s`);
    fast.stream.end();
    slow.stream.end();
    lb.stream.cancel();
  });

  it('a lease is expired by exactly one replica', async () => {
    const reporter = openReport(ca);
    reporter.register('lonely', '127.0.0.1', 7401);
    await reporter.registered();
    const lb = openBalanceLoad(cb, 'lonely');
    await lb.waitForBackends(['127.0.0.1:7401']);
    reporter.stream.cancel(); // broken, not closed: the lease must run out
    await lb.waitForBackends([], LEASE_TTL_MS + 3000);
    const metric = async (port: number) => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return Number(/lookaside_leases_expired_total (\d+)/.exec(text)![1]);
    };
    await waitFor('metrics', async () => ((await metric(a.httpPort)) + (await metric(b.httpPort)) >= 1 ? true : undefined));
    assert.equal((await metric(a.httpPort)) + (await metric(b.httpPort)), 1, 'one removal across both replicas');
    lb.stream.cancel();
  });
});
