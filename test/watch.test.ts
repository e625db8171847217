import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Assignment__Output } from '../src/generated/lookaside/v1/Assignment.js';
import { loadConfig } from '../src/config/config.js';
import { clients, type Clients } from './support/protos.js';
import { startService, type RunningService } from './support/lookaside.js';
import { openReport, Recorded, steadyLoad } from './support/streams.js';

function openWatch(c: Clients, service: string) {
  const stream = c.assignments.Watch();
  const recorded = new Recorded<Assignment__Output>(stream);
  stream.write({ start: { service, clientZone: 'zone-a' } });
  const latest = () => recorded.messages.at(-1);
  return { stream, recorded, latest };
}

describe('lookaside.v1 Watch', () => {
  let service: RunningService;
  let c: Clients;

  before(async () => {
    // Short windows so client stats reach the policy within the test.
    service = await startService({
      env: {
        LOOKASIDE_CLIENT_STATS_WINDOW_MS: '1000',
        LOOKASIDE_LOAD_PUSH_INTERVAL_MS: '200',
        LOOKASIDE_CLIENT_STATS_INTERVAL_MS: '1000',
        // Weights from the first report: warm-up has its own test below.
        LOOKASIDE_POLICY_BLACKOUT_MS: '0',
        LOOKASIDE_POLICY_SLOW_START_MS: '0',
      },
    });
    c = clients(service.grpcAddress);
  });
  after(async () => {
    c.close();
    await service.stop();
  });

  it('sends explicit weights, tokens, zones and labels, with a version that grows', async () => {
    const watch = openWatch(c, 'weighted');
    const first = await watch.recorded.next('the first assignment', () => true);
    assert.equal(first.fallback, true, 'no backends yet: fall back');
    assert.equal(Number(first.clientStatsInterval?.seconds), 1);

    const big = openReport(c);
    big.register('weighted', '127.0.0.1', 8101, { zone: 'zone-a', labels: { version: 'v2' }, load: steadyLoad(100, 0.25) });
    const small = openReport(c);
    small.register('weighted', '127.0.0.1', 8102, { zone: 'zone-b', load: steadyLoad(100, 0.5) });
    const [bigAck, smallAck] = await Promise.all([big.registered(), small.registered()]);
    const both = await watch.recorded.next('both backends', (m) => m.backends.length === 2);
    assert.equal(both.fallback, false);
    const byPort = new Map(both.backends.map((b) => [b.port, b]));
    assert.equal(byPort.get(8101)!.weight, 2 * byPort.get(8102)!.weight, 'half the utilization at the same rps: twice the weight');
    assert.equal(byPort.get(8101)!.loadBalanceToken, bigAck.loadBalanceToken);
    assert.equal(byPort.get(8102)!.loadBalanceToken, smallAck.loadBalanceToken);
    assert.equal(byPort.get(8101)!.zone, 'zone-a');
    assert.deepEqual(byPort.get(8101)!.labels, { version: 'v2' });
    assert.equal(byPort.get(8101)!.state, 'SERVING');

    // Draining takes a backend out at once.
    const versionBefore = Number(both.version);
    const seen = watch.recorded.messages.length;
    small.report(steadyLoad(100, 0.5), 'DRAINING');
    const drained = await watch.recorded.next('the drain', (m) => m.backends.length === 1, seen);
    assert.equal(drained.backends[0].port, 8101);
    assert.ok(Number(drained.version) > versionBefore, 'the version grows with every change');

    big.stream.end();
    small.stream.end();
    watch.stream.cancel();
  });

  it('lowers the weight of a backend its clients see failing', async () => {
    const watch = openWatch(c, 'flaky');
    const good = openReport(c);
    const bad = openReport(c);
    good.register('flaky', '127.0.0.1', 8201, { load: steadyLoad(100, 0.5) });
    bad.register('flaky', '127.0.0.1', 8202, { load: steadyLoad(100, 0.5) });
    const [, badAck] = await Promise.all([good.registered(), bad.registered()]);
    const equal = await watch.recorded.next('equal weights', (m) => m.backends.length === 2);
    assert.equal(equal.backends[0].weight, equal.backends[1].weight);

    // Half the calls to the bad backend fail, as seen by the client, for a few windows.
    const timer = setInterval(() => {
      watch.stream.write({
        clientLoad: { tokens: [{ loadBalanceToken: badAck.loadBalanceToken, callsStarted: 100, callsFinished: 100, callsFailed: 50 }] },
      });
      // Reports keep arriving, so the service re-reads the state and sees the new window.
      good.report(steadyLoad(100, 0.5));
      bad.report(steadyLoad(100, 0.5));
    }, 200);
    try {
      const lowered = await watch.recorded.next(
        'a lower weight for the failing backend',
        (m) => {
          const b = m.backends.find((x) => x.port === 8202);
          const g = m.backends.find((x) => x.port === 8201);
          return !!b && !!g && b.weight < g.weight;
        },
        0,
        8000,
      );
      const b = lowered.backends.find((x) => x.port === 8202)!;
      const g = lowered.backends.find((x) => x.port === 8201)!;
      // error rate 0.5 with penalty 1: 100/(0.5+0.5) vs 100/0.5 -> half.
      assert.equal(b.weight * 2, g.weight);
    } finally {
      clearInterval(timer);
      good.stream.end();
      bad.stream.end();
      watch.stream.cancel();
    }
  });
});

describe('warm-up and ejection, end to end', () => {
  let service: RunningService;
  let c: Clients;

  before(async () => {
    service = await startService({
      env: {
        LOOKASIDE_POLICY_BLACKOUT_MS: '300',
        LOOKASIDE_POLICY_SLOW_START_MS: '1500',
        LOOKASIDE_POLICY_EJECTION_BASE_MS: '1000',
        LOOKASIDE_LOAD_PUSH_INTERVAL_MS: '100',
      },
    });
    c = clients(service.grpcAddress);
  });
  after(async () => {
    c.close();
    await service.stop();
  });

  it('ramps a new backend up to its share instead of flooding it', async () => {
    const watch = openWatch(c, 'warm');
    const old = openReport(c);
    old.register('warm', '127.0.0.1', 8301, { load: steadyLoad(100, 0.5) });
    await old.registered();
    await new Promise((r) => setTimeout(r, 1600)); // past its own slow start
    const fresh = openReport(c);
    fresh.register('warm', '127.0.0.1', 8302, { load: steadyLoad(100, 0.5) });
    const timer = setInterval(() => {
      old.report(steadyLoad(100, 0.5));
      fresh.report(steadyLoad(100, 0.5));
    }, 100);
    try {
      const share = (m: Assignment__Output) => {
        const w = m.backends.find((b) => b.port === 8302)?.weight;
        const o = m.backends.find((b) => b.port === 8301)?.weight;
        return w && o ? w / o : undefined;
      };
      const first = await watch.recorded.next('the new backend', (m) => share(m) !== undefined);
      assert.ok(share(first)! < 0.3, `it starts with a small share (${share(first)})`);
      await watch.recorded.next('its full, equal share', (m) => share(m) === 1, 0, 5000);
      const ramp = watch.recorded.messages.map(share).filter((x): x is number => x !== undefined);
      for (let i = 1; i < ramp.length; i++) assert.ok(ramp[i] >= ramp[i - 1], `the share only grows: ${ramp.join(', ')}`);
    } finally {
      clearInterval(timer);
      old.stream.end();
      fresh.stream.end();
      watch.stream.cancel();
    }
  });

  it('ejects a backend that fails a third of its calls, then readmits it', async () => {
    const watch = openWatch(c, 'outlier');
    const ports = [8401, 8402, 8403, 8404];
    const reporters = ports.map((port) => {
      const r = openReport(c);
      r.register('outlier', '127.0.0.1', port, { load: steadyLoad(100, 0.5) });
      return r;
    });
    await Promise.all(reporters.map((r) => r.registered()));
    await watch.recorded.next('all four', (m) => m.backends.length === 4);
    let failing = true;
    const timer = setInterval(() => {
      reporters.forEach((r, i) => r.report(i === 3 && failing ? { ...steadyLoad(100, 0.5), eps: 33 } : steadyLoad(100, 0.5)));
    }, 100);
    try {
      const seen = watch.recorded.messages.length;
      const failingSince = Date.now();
      await watch.recorded.next('the failing backend out', (m) => m.backends.length === 3, seen);
      const tookMs = Date.now() - failingSince;
      assert.ok(tookMs < 2000, `ejected after ${tookMs} ms`);
      assert.ok(!watch.latest()!.backends.some((b) => b.port === 8404));
      failing = false;
      await watch.recorded.next('readmitted after its ejection', (m) => m.backends.length === 4, watch.recorded.messages.length, 5000);
    } finally {
      clearInterval(timer);
      reporters.forEach((r) => r.stream.end());
      watch.stream.cancel();
    }
  });
});

describe('configuration', () => {
  it('has documented defaults', () => {
    const config = loadConfig({});
    assert.equal(config.leaseTtlMs, 3000);
    assert.equal(config.reportIntervalMs, 500);
    assert.equal(config.loadPushIntervalMs, 1000);
    assert.equal(config.grpcAddress, '0.0.0.0:50051');
    assert.equal(config.redis, undefined, 'no Redis: the in-memory store');
    assert.ok(config.clientStatsIntervalMs >= 1000);
  });

  it('refuses settings that cannot work, naming the variable', () => {
    assert.throws(() => loadConfig({ LOOKASIDE_LEASE_TTL_MS: 'soon' }), /LOOKASIDE_LEASE_TTL_MS=soon/);
    assert.throws(
      () => loadConfig({ LOOKASIDE_LEASE_TTL_MS: '1000', LOOKASIDE_REPORT_INTERVAL_MS: '1000' }),
      /LOOKASIDE_REPORT_INTERVAL_MS \(1000\) must be below LOOKASIDE_LEASE_TTL_MS/,
    );
    assert.throws(() => loadConfig({ LOOKASIDE_CLIENT_STATS_INTERVAL_MS: '500' }), /at least 1000/);
  });
});
