import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config/config.js';
import { computeAssignment, rawWeight, sameAssignment } from '../src/policy/policy.js';
import type { BackendRecord, BackendState, LoadSample, ServiceSnapshot, TokenCallStats } from '../src/store/types.js';

const options = loadConfig({}).policy;

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

function backend(n: number, l: LoadSample | null, state: BackendState = 'SERVING'): BackendRecord {
  return {
    service: 'echo',
    id: `10.0.0.${n}:80`,
    host: `10.0.0.${n}`,
    port: 80,
    zone: '',
    labels: {},
    token: `t${n}`,
    session: `s${n}`,
    state,
    load: l,
    lastReportMs: 1,
  };
}

function snapshot(backends: BackendRecord[], clientStats: Record<string, TokenCallStats> = {}): ServiceSnapshot {
  return { service: 'echo', version: 7, backends, clientStats, cluster: null };
}

const weights = (s: ServiceSnapshot, o = options) => computeAssignment(s, o).backends.map((b) => b.weight);

describe('policy v1', () => {
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

  it('gives backends with no report yet the mean weight', () => {
    const w = weights(snapshot([backend(1, load(100, 0.25)), backend(2, load(100, 0.5)), backend(3, null)]));
    // raw 400, 200 and the mean 300.
    assert.deepEqual(w, [1000, 500, 750]);
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
