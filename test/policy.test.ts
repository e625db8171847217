import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config/config.js';
import {
  computeAssignment,
  maxEjected,
  proposeEjections,
  rawWeight,
  reportedUtilization,
  sameAssignment,
  slowStartFactor,
  withinHeadroom,
} from '../src/policy/policy.js';
import { smooth } from '../src/registry/registry.service.js';
import type { BackendRecord, BackendState, LoadSample, ServiceSnapshot, TokenCallStats } from '../src/store/types.js';

const options = loadConfig({}).policy;
const NOW = 1_800_000_000_000;
/** Long listed, reported a moment ago: past blackout and slow start. */
const SETTLED = { registeredAtMs: NOW - 600_000, lastReportMs: NOW - 100 };

function load(rps: number, utilization: number, eps = 0, app = 0): LoadSample {
  return {
    cpuUtilization: utilization,
    memUtilization: 0,
    applicationUtilization: app,
    rpsFractional: rps,
    eps,
    requestsInFlight: 0,
    namedMetrics: {},
  };
}

function backend(n: number, l: LoadSample | null, state: BackendState = 'SERVING', times = SETTLED): BackendRecord {
  return {
    service: 'echo',
    id: `10.0.0.${n}:80`,
    host: `10.0.0.${n}`,
    port: 80,
    zone: '',
    labels: {},
    token: `t${n}`,
    session: `s${n}`,
    principal: '',
    state,
    load: l,
    smoothed: null,
    // One second of reports at the load's rates.
    recent: l ? { calls: l.rpsFractional, failed: l.eps, rps: l.rpsFractional, utilization: reportedUtilization(l) } : null,
    ejection: null,
    ...times,
  };
}

function snapshot(backends: BackendRecord[], clientStats: Record<string, TokenCallStats> = {}): ServiceSnapshot {
  return { service: 'echo', nowMs: NOW, version: 7, backends, clientStats, cluster: null };
}

const weights = (s: ServiceSnapshot, o = options) => computeAssignment(s, o).backends.map((b) => b.weight);

describe('policy: weights from load', () => {
  it('weights by rps over utilization: twice the capacity, twice the weight', () => {
    // Both serve 100 rps; one is at 25% cpu, the other at 50%: the first could do twice as much.
    assert.deepEqual(weights(snapshot([backend(1, load(100, 0.25)), backend(2, load(100, 0.5))])), [1000, 500]);
  });

  it('prefers application_utilization over cpu when the backend sets it', () => {
    const b = backend(1, load(100, 0.9, 0, 0.2));
    assert.equal(rawWeight(b, undefined, 1), 500);
  });

  it('lowers the weight of a backend that reports errors', () => {
    const healthy = backend(1, load(100, 0.5));
    const failing = backend(2, load(100, 0.5, 50));
    const [w1, w2] = weights(snapshot([healthy, failing]));
    // 100/(0.5+0.5*1) = 100 vs 200: half.
    assert.deepEqual([w1, w2], [1000, 500]);
  });

  it('lowers the weight of a backend whose clients see failures', () => {
    const a = backend(1, load(100, 0.5));
    const b = backend(2, load(100, 0.5));
    const stats = { t2: { started: 100, finished: 100, failed: 50, dropped: 0 } };
    assert.deepEqual(weights(snapshot([a, b], stats)), [1000, 500]);
    const few = { t2: { started: 5, finished: 5, failed: 5, dropped: 0 } };
    assert.deepEqual(weights(snapshot([a, b], few)), [1000, 1000], 'too few calls to judge');
  });

  it('lowers a failing backend\'s weight only as far as the others have room (target utilization)', () => {
    // Four backends, one failing 15 % of its calls, at a utilization of `u` each.
    const fleet = (u: number) => [1, 2, 3].map((n) => backend(n, load(100, u))).concat(backend(4, load(100, u, 15)));
    // At 50 %, the others take its calls and stay under 0.8: the full penalty.
    const calm = weights(snapshot(fleet(0.5)));
    assert.deepEqual(calm, [1000, 1000, 1000, Math.round((1000 * 0.5) / 0.65)]);
    // At 90 %, the others are past the target already: no penalty beyond its failed share (its
    // capacity for calls that succeed), so failing fast does not earn it more calls.
    assert.deepEqual(weights(snapshot(fleet(0.9))), [1000, 1000, 1000, 850]);
    // At 75 % with a stronger penalty (3), part of it: the healthy ones end up at the target, no further.
    const strong = { ...options, errorUtilizationPenalty: 3 };
    const partial = weights(snapshot(fleet(0.75)), strong);
    const share = partial[0] / partial.reduce((a, b) => a + b, 0);
    const projected = (400 * share) / (100 / 0.75);
    const full = Math.round((1000 * 0.75) / (0.75 + 0.45));
    assert.ok(partial[3] < 850 && partial[3] > full, `partial penalty: ${partial}`);
    assert.ok(Math.abs(projected - 0.8) < 0.005, `the others at the target: ${projected}`);
    // Configurable: with a target of 1, the full penalty.
    assert.deepEqual(weights(snapshot(fleet(0.75)), { ...strong, targetUtilization: 1 }), [1000, 1000, 1000, full]);
  });

  it('headroom: backends without figures are left as they are, and no penalty means no change', () => {
    const b = [backend(1, load(100, 0.5)), backend(2, load(100, 0.5)), backend(3, null)];
    assert.deepEqual(withinHeadroom(b, [200, 200, undefined], [200, 200, undefined], [200, 200, undefined], 0.8), [200, 200, undefined]);
    const out = withinHeadroom(b, [200, 200, undefined], [200, 150, undefined], [200, 100, undefined], 0.8);
    assert.deepEqual(out, [200, 100, undefined], 'the other would run at 0.67: room for the full penalty');
  });

  it('gives backends with no report yet the mean weight', () => {
    const w = weights(snapshot([backend(1, load(100, 0.25)), backend(2, load(100, 0.5)), backend(3, null)]));
    // raw 400, 200 and the mean 300.
    assert.deepEqual(w, [1000, 500, 750]);
  });

  it('counts a capacity estimate resting on a trickle of calls only in part, so a backend it underrates is not starved', () => {
    // An idle backend whose app sets no utilization reports its process's CPU: 0.1 calls/s at
    // 60 % reads as a capacity of 0.17 calls/s, which would pin it at the weight floor and keep
    // from it the calls that could correct the figure.
    const fleet = [backend(1, load(20, 0.5)), backend(2, load(20, 0.5)), backend(3, load(0.1, 0.6))];
    const w = weights(snapshot(fleet));
    assert.ok(w[2] >= 800, `the idle backend gets most of the mean: ${w}`);
    const trusting = weights(snapshot(fleet), { ...options, capacityMinRps: 0 });
    assert.ok(trusting[2] <= 100, `with every estimate trusted in full it is at the floor: ${trusting}`);
    // Half the evidence: halfway between its own estimate (20) and the fleet's mean with each
    // estimate counted by its evidence ((40 x 1 + 20 x 0.5) / 1.5 = 33.3): 26.7 against 40.
    const half = weights(snapshot([backend(1, load(20, 0.5)), backend(2, load(0.5, 0.025))]));
    assert.deepEqual(half, [1000, 667]);
  });

  it('gives equal weights when nobody has reported', () => {
    assert.deepEqual(weights(snapshot([backend(1, null), backend(2, null), backend(3, load(0, 0))])), [1000, 1000, 1000]);
  });

  it('clamps weights so that no backend starves or floods', () => {
    const fleet = [backend(1, load(1000, 0.01)), backend(2, load(1, 1)), backend(3, load(1, 1)), backend(4, load(1, 1))];
    const w = weights(snapshot(fleet));
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    assert.ok(w[0] / mean <= options.maxWeightRatio + 1e-9, `flood: ${w}`);
    assert.ok(Math.min(...w) / mean >= options.minWeightRatio - 0.01, `starve: ${w}`);
    assert.ok(Math.min(...w) >= 1);
    const narrow = weights(snapshot(fleet), { ...options, minWeightRatio: 0.5, maxWeightRatio: 2 });
    const narrowMean = narrow.reduce((a, b) => a + b, 0) / narrow.length;
    assert.ok(Math.max(...narrow) / Math.min(...narrow) <= 4 + 0.01, `ratio bound ${narrow} (mean ${narrowMean})`);
  });

  it('leaves out draining and not-serving backends', () => {
    const a = computeAssignment(
      snapshot([backend(1, null), backend(2, null, 'DRAINING'), backend(3, null, 'NOT_SERVING')]),
      options,
    );
    assert.deepEqual(
      a.backends.map((b) => b.id),
      ['10.0.0.1:80'],
    );
    assert.equal(a.dropPpm, 0, 'v1 never drops');
  });

  it('is deterministic: the same state gives the same assignment', () => {
    const fleet = () => [backend(1, load(37, 0.31, 1)), backend(2, load(52, 0.77)), backend(3, null)];
    const a = computeAssignment(snapshot(fleet()), options);
    const b = computeAssignment(snapshot(fleet()), options);
    assert.deepEqual(a, b);
    assert.ok(sameAssignment(a, b));
    assert.equal(a.version, 7);
  });

  it('tells a changed weight from a changed version', () => {
    const a = computeAssignment(snapshot([backend(1, load(100, 0.25)), backend(2, load(100, 0.5))]), options);
    const sameButNewer = { ...a, version: 8 };
    assert.ok(sameAssignment(a, sameButNewer));
    const b = computeAssignment(snapshot([backend(1, load(100, 0.5)), backend(2, load(100, 0.5))]), options);
    assert.ok(!sameAssignment(a, b));
  });
});

describe('policy: time, smoothing, ejection and shedding', () => {
  it('smooths reports with an exponentially weighted moving average', () => {
    const first = smooth(null, load(100, 0.5), 0.5);
    assert.deepEqual(first, { utilization: 0.5, rps: 100, eps: 0, requestsInFlight: 0 });
    const second = smooth(first, load(200, 0.9, 10), 0.5);
    assert.deepEqual(second, { utilization: 0.7, rps: 150, eps: 5, requestsInFlight: 0 });
    const b = { ...backend(1, load(999, 0.01)), smoothed: second };
    assert.equal(rawWeight(b, undefined, 1), 150 / (0.7 + 5 / 150), 'the policy reads the averages, not the last sample');
  });

  it('ignores a new backend\'s reports during its blackout, then ramps it up', () => {
    const old = backend(1, load(100, 0.5));
    const fresh = backend(2, load(1000, 0.1), 'SERVING', { registeredAtMs: NOW - 200, lastReportMs: NOW - 50 });
    const [w1, w2] = weights(snapshot([old, fresh]));
    // In blackout it gets the mean (of the only reported raw weight, 200), then slow start's first step.
    const factor = slowStartFactor(fresh, NOW, options);
    assert.ok(factor > options.slowStartInitialFactor && factor < options.slowStartInitialFactor + 0.2, `early in slow start: ${factor}`);
    assert.equal(w1, 1000);
    assert.equal(w2, Math.round(1000 * factor));
  });

  it('slow start runs from the initial factor to 1 over slowStartMs, and again after an ejection', () => {
    const at = (ageMs: number) => slowStartFactor(backend(1, null, 'SERVING', { registeredAtMs: NOW - ageMs, lastReportMs: NOW }), NOW, options);
    assert.equal(at(0), options.slowStartInitialFactor);
    assert.equal(at(options.slowStartMs / 2), options.slowStartInitialFactor + (1 - options.slowStartInitialFactor) / 2);
    assert.equal(at(options.slowStartMs), 1);
    assert.equal(at(10 * options.slowStartMs), 1);
    const readmitted = { ...backend(1, null), ejection: { untilMs: NOW - options.slowStartMs / 2, count: 1 } };
    assert.ok(slowStartFactor(readmitted, NOW, options) < 1, 'readmitted backends ramp up too');
  });

  it('stops trusting a report older than weightExpiryMs', () => {
    const stale = backend(2, load(1000, 0.1), 'SERVING', { registeredAtMs: NOW - 600_000, lastReportMs: NOW - options.weightExpiryMs - 1 });
    const w = weights(snapshot([backend(1, load(100, 0.5)), backend(3, load(100, 0.25)), stale]));
    // The stale one gets the mean of the others (200 and 400), not its own 10,000.
    assert.deepEqual(w, [500, 1000, 750]);
  });

  it('proposes ejecting a backend that fails far more than the fleet, worst first, within the bound', () => {
    const healthy = (n: number) => backend(n, load(100, 0.5, 1));
    const failing = (n: number, eps: number) => backend(n, load(100, 0.5, eps));
    assert.deepEqual(proposeEjections(snapshot([healthy(1), healthy(2), healthy(3), failing(4, 30)]), options), ['10.0.0.4:80']);
    assert.deepEqual(proposeEjections(snapshot([failing(1, 30), failing(2, 30), failing(3, 30)]), options), [], 'a shared failure ejects nobody');
    const fleet = [1, 2, 3, 4, 5, 6, 7].map(healthy).concat([failing(8, 50), failing(9, 90), failing(10, 40)]);
    assert.equal(maxEjected(10, options), 3);
    assert.deepEqual(proposeEjections(snapshot(fleet), options), ['10.0.0.9:80', '10.0.0.8:80', '10.0.0.10:80']);
    const quiet = backend(4, load(0.5, 0.01, 0.5));
    assert.deepEqual(proposeEjections(snapshot([healthy(1), healthy(2), quiet]), options), [], 'too few calls to judge');
    assert.deepEqual(proposeEjections(snapshot([healthy(1), failing(2, 30)]), { ...options, ejectionErrorRate: 0 }), [], 'off');
  });

  it('does not eject when the others would be overloaded by its calls', () => {
    // Four backends at 90% utilization: without one, the other three would run at 120%.
    const busy = (n: number, eps = 0) => backend(n, load(100, 0.9, eps));
    assert.deepEqual(proposeEjections(snapshot([busy(1), busy(2), busy(3), busy(4, 30)]), options), []);
    // At 70%, the others would run at about 93%: past the target utilization (0.8).
    const warm = (n: number, eps = 0) => backend(n, load(100, 0.7, eps));
    assert.deepEqual(proposeEjections(snapshot([warm(1), warm(2), warm(3), warm(4, 30)]), options), []);
    // At 55%, at about 73%: room enough.
    const calm = (n: number, eps = 0) => backend(n, load(100, 0.55, eps));
    assert.deepEqual(proposeEjections(snapshot([calm(1), calm(2), calm(3), calm(4, 30)]), options), ['10.0.0.4:80']);
    assert.deepEqual(
      proposeEjections(snapshot([busy(1), busy(2), busy(3), busy(4, 30)]), { ...options, targetUtilization: 2 }),
      ['10.0.0.4:80'],
      'configurable',
    );
  });

  it('judges the room the others have over their report windows, not on one low report', () => {
    // The latest reports dip to 50 % (one quiet half second), but the windows say 90 %.
    const busy = (n: number, eps = 0) => {
      const b = backend(n, load(100, 0.5, eps));
      return { ...b, recent: { ...b.recent!, utilization: 0.9 } };
    };
    assert.deepEqual(proposeEjections(snapshot([busy(1), busy(2), busy(3), busy(4, 30)]), options), []);
    const calm = (n: number, eps = 0) => {
      const b = backend(n, load(100, 0.9, eps));
      return { ...b, recent: { ...b.recent!, utilization: 0.5 } };
    };
    assert.deepEqual(proposeEjections(snapshot([calm(1), calm(2), calm(3), calm(4, 30)]), options), ['10.0.0.4:80'], 'and the other way round');
  });

  it('judges the newest reports, not the moving average, so a backend that starts failing is out at once', () => {
    const healthy = (n: number) => backend(n, load(100, 0.5, 1));
    const justStarted = { ...backend(4, load(100, 0.5, 35)), smoothed: { utilization: 0.5, rps: 100, eps: 4, requestsInFlight: 0 } };
    assert.deepEqual(proposeEjections(snapshot([healthy(1), healthy(2), healthy(3), justStarted]), options), ['10.0.0.4:80']);
  });

  it('ejects nobody on a failure or two among a few calls, however high the rate', () => {
    const healthy = (n: number) => backend(n, load(100, 0.5));
    const unlucky = { ...backend(4, load(8, 0.5, 2)), recent: { calls: 12, failed: 2, rps: 8, utilization: 0.5 } };
    assert.deepEqual(proposeEjections(snapshot([healthy(1), healthy(2), healthy(3), unlucky]), options), [], '2 of 12 calls');
    const few = { ...backend(4, load(8, 0.5, 4)), recent: { calls: 8, failed: 4, rps: 8, utilization: 0.5 } };
    assert.deepEqual(proposeEjections(snapshot([healthy(1), healthy(2), healthy(3), few]), options), [], 'too few calls');
    const enough = { ...backend(4, load(8, 0.5, 3)), recent: { calls: 12, failed: 3, rps: 8, utilization: 0.5 } };
    assert.deepEqual(proposeEjections(snapshot([healthy(1), healthy(2), healthy(3), enough]), options), ['10.0.0.4:80'], '3 of 12');
    // What clients saw counts on the same terms.
    const seen = { t4: { started: 12, finished: 12, failed: 3, dropped: 0 } };
    const quiet = { ...backend(4, load(8, 0.5)), recent: { calls: 4, failed: 0, rps: 8, utilization: 0.5 } };
    assert.deepEqual(proposeEjections(snapshot([healthy(1), healthy(2), healthy(3), quiet], seen), options), ['10.0.0.4:80']);
  });

  it('leaves ejected backends out of the assignment and counts them against the bound', () => {
    const out = { ...backend(4, load(100, 0.5, 30)), ejection: { untilMs: NOW + 5000, count: 1 } };
    const fleet = [backend(1, load(100, 0.5)), backend(2, load(100, 0.5)), backend(3, load(100, 0.5, 40)), out];
    assert.deepEqual(
      computeAssignment(snapshot(fleet), options).backends.map((b) => b.id),
      ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80'],
    );
    assert.deepEqual(proposeEjections(snapshot(fleet), options), [], 'one of four is already out');
    const back = { ...out, ejection: { untilMs: NOW - 1, count: 1 } };
    assert.ok(computeAssignment(snapshot([backend(1, null), back]), options).backends.some((b) => b.id === back.id), 'readmitted when it ends');
  });

  it('sheds load only when enabled and every backend reports the fleet over the threshold', () => {
    const hot = [backend(1, load(100, 1.2)), backend(2, load(100, 1.2))];
    assert.equal(computeAssignment(snapshot(hot), options).dropPpm, 0, 'off by default');
    const shedding = { ...options, dropUtilization: 0.9 };
    assert.equal(computeAssignment(snapshot(hot), shedding).dropPpm, 250_000);
    assert.equal(computeAssignment(snapshot([...hot, backend(3, null)]), shedding).dropPpm, 0, 'a silent backend may have room');
    assert.equal(computeAssignment(snapshot([backend(1, load(100, 0.5))]), shedding).dropPpm, 0);
    assert.equal(computeAssignment(snapshot([backend(1, load(100, 90))]), shedding).dropPpm, shedding.maxDropPpm);
  });
});
