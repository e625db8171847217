// Pure pieces: backoff, load math, option precedence, registration idempotence, protos.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { experimental } from '@grpc/grpc-js';
import { Backoff, DEFAULT_BACKOFF } from '../src/backoff.js';
import { registerLookaside, isLookasideRegistered, LB_POLICY_NAME } from '../src/index.js';
import { pickTuning } from '../src/load-balancer-lookaside.js';
import { LoadRecorder } from '../src/load-recorder.js';
import { DEFAULT_PICK_CANDIDATES, DEFAULT_TARGET_UTILIZATION } from '../src/picker.js';
import { CallTracker, memUtilization, safeMetric, windowLoad } from '../src/load-window.js';
import { CHANNEL_OPTION, ConfigError, fallbackUri, lookasideTarget, resolveClientConfig } from '../src/options.js';
import { lookasideProtos, protoDir } from '../src/protos.js';

test('backoff grows by the multiplier up to the ceiling, jittered within ±jitter, and resets', () => {
  const lo = new Backoff({ initialMs: 100, multiplier: 2, jitter: 0.2, maxMs: 1000 }, () => 0);
  const hi = new Backoff({ initialMs: 100, multiplier: 2, jitter: 0.2, maxMs: 1000 }, () => 1);
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => lo.next()), [80, 160, 320, 640, 800, 800]);
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => hi.next()), [120, 240, 480, 960, 1200, 1200]);
  lo.reset();
  assert.equal(lo.next(), 80);
  const d = new Backoff();
  const first = d.next();
  assert.ok(first >= DEFAULT_BACKOFF.initialMs * 0.8 && first <= DEFAULT_BACKOFF.initialMs * 1.2);
  assert.throws(() => new Backoff({ initialMs: 0 }));
  assert.throws(() => new Backoff({ jitter: 1 }));
});

test('reconnects at once after a stream that worked, but not twice within the initial delay', () => {
  const b = new Backoff({ initialMs: 100, multiplier: 2, jitter: 0, maxMs: 1000 });
  assert.equal(b.reconnectDelay(true, 1000), 0);
  assert.equal(b.reconnectDelay(true, 1050), 100, 'a stream that worked only briefly backs off');
  assert.equal(b.reconnectDelay(true, 1200), 0);
  assert.equal(b.reconnectDelay(false, 1201), 200, 'a stream that never worked backs off, growing');
});

test('window load: rates per second, cpu over all cores, memory against the tighter limit', () => {
  const prev = { atMs: 1000, cpuMicros: 0, finished: 10, failed: 1 };
  const next = { atMs: 3000, cpuMicros: 1_000_000, finished: 210, failed: 21 };
  assert.deepEqual(windowLoad(prev, next, 2), { cpuUtilization: 0.25, rpsFractional: 100, eps: 10, windowMs: 2000 });
  assert.equal(windowLoad(prev, prev, 2).rpsFractional, 0);
  assert.equal(memUtilization(512, 4096, 1024), 0.5);
  assert.equal(memUtilization(512, 4096, 2 ** 64), 0.125, 'an unconstrained process reports 2^64: use total memory');
  assert.equal(safeMetric(() => 0.7), 0.7);
  assert.equal(safeMetric(() => Number.NaN), 0);
  assert.equal(safeMetric(() => {
    throw new Error('user bug');
  }), 0);
  const t = new CallTracker();
  t.begin(5);
  t.begin(6);
  t.end(true);
  t.end(false);
  assert.deepEqual({ ...t }, { inFlight: 0, started: 2, finished: 2, failed: 1, lastStartAt: 6 });
});

test('ClientLoad: per-token deltas since the last drain, nothing when idle, retired tokens forgotten', () => {
  const r = new LoadRecorder();
  r.setActiveTokens(new Set(['a']));
  const a = r.counters('a');
  const b = r.counters('b');
  assert.equal(r.counters('a'), a, 'same counters object for a token');
  a.started += 3;
  a.finished += 2;
  a.failed += 1;
  r.recordDrop();
  assert.deepEqual(r.drain(), { tokens: [{ loadBalanceToken: 'a', callsStarted: 3, callsFinished: 2, callsFailed: 1 }], callsDropped: 1 });
  assert.equal(r.drain(), null);
  assert.notEqual(r.counters('b'), b, 'b was not active and had nothing to report: forgotten');
  assert.equal(r.counters('a'), a);
});

const uri = (s: string) => {
  const m = /^lookaside:(?:\/\/([^/]*)\/)?(.*)$/.exec(s)!;
  return { scheme: 'lookaside', authority: m[1], path: m[2] } as experimental.GrpcUri;
};

test('the lookaside address comes from the authority, then the channel option, then registerLookaside(), then the env', () => {
  const env = { LOOKASIDE_ADDRESS: 'env:1' };
  const all = resolveClientConfig(uri('lookaside://auth:1/echo'), { [CHANNEL_OPTION.address]: 'opt:1' }, { lookasideAddress: 'reg:1' }, env);
  assert.equal(all.lookasideAddress, 'auth:1');
  assert.equal(all.service, 'echo');
  assert.equal(resolveClientConfig(uri('lookaside:///echo'), { [CHANNEL_OPTION.address]: 'opt:1' }, { lookasideAddress: 'reg:1' }, env).lookasideAddress, 'opt:1');
  assert.equal(resolveClientConfig(uri('lookaside:///echo'), {}, { lookasideAddress: 'reg:1' }, env).lookasideAddress, 'reg:1');
  assert.equal(resolveClientConfig(uri('lookaside:///echo'), {}, {}, env).lookasideAddress, 'env:1');
  assert.throws(() => resolveClientConfig(uri('lookaside:///echo'), {}, {}, {}), /no lookaside address for service "echo"/);
  assert.throws(() => resolveClientConfig(uri('lookaside:///'), {}, {}, env), /names no service/);
});

test('lb-token is sent only when asked: the channel option, then registerLookaside(); anything but a boolean or 0/1 is refused', () => {
  const env = { LOOKASIDE_ADDRESS: 'env:1' };
  const send = (options: Record<string, unknown>, defaults: { sendLoadBalanceToken?: boolean } = {}) =>
    resolveClientConfig(uri('lookaside:///echo'), options, defaults, env).sendLoadBalanceToken;
  assert.equal(send({}), false);
  assert.equal(send({}, { sendLoadBalanceToken: true }), true);
  assert.equal(send({ [CHANNEL_OPTION.sendLoadBalanceToken]: 1 }), true);
  assert.equal(send({ [CHANNEL_OPTION.sendLoadBalanceToken]: false }, { sendLoadBalanceToken: true }), false);
  assert.throws(() => send({ [CHANNEL_OPTION.sendLoadBalanceToken]: 'yes' }), /lookaside\.send_lb_token must be true, false, 1 or 0, got yes/);
});

test('lookaside addresses and fallbacks become grpc-js targets', () => {
  assert.equal(lookasideTarget('lb.ns.svc:50051'), 'dns:///lb.ns.svc:50051');
  assert.equal(lookasideTarget('10.0.0.1:1,10.0.0.2:2'), 'ipv4:10.0.0.1:1,10.0.0.2:2');
  assert.equal(lookasideTarget('[::1]:1,[::2]:2'), 'ipv6:[::1]:1,[::2]:2');
  assert.equal(lookasideTarget('dns:///x:1'), 'dns:///x:1');
  assert.throws(() => lookasideTarget('no-port'), ConfigError);
  assert.throws(() => lookasideTarget('a.example:1,10.0.0.1:2'), /one family/);
  assert.deepEqual(fallbackUri('echo-headless:50051'), { scheme: 'dns', authority: undefined, path: 'echo-headless:50051' });
  assert.deepEqual(fallbackUri(['10.0.0.1:1', '10.0.0.2:1']), { scheme: 'ipv4', authority: undefined, path: '10.0.0.1:1,10.0.0.2:1' });
  assert.equal(fallbackUri(undefined), null);
  assert.throws(() => fallbackUri('lookaside:///echo'), /cannot itself be a lookaside/);
});

test('registration is idempotent and validates its options', () => {
  registerLookaside();
  registerLookaside({ fallbackTimeoutMs: 100 });
  assert.equal(isLookasideRegistered(), true);
  assert.equal(experimental.isLoadBalancerNameRegistered(LB_POLICY_NAME), true);
  assert.throws(() => registerLookaside({ lookasideAddress: 'nope' }), ConfigError);
  registerLookaside();
});

test('protos load from the workspace copy, or the packed one when present', () => {
  const dir = protoDir();
  assert.ok(existsSync(join(dir, 'loader-options.json')));
  const { assignments, reports } = lookasideProtos();
  assert.equal(typeof assignments.lookaside.v1.Assignments, 'function');
  assert.equal(typeof reports.lookaside.v1.Reports, 'function');
});

test('the pick settings come from channel options, and a value out of range keeps the default', () => {
  assert.deepEqual(pickTuning({}), { targetUtilization: DEFAULT_TARGET_UTILIZATION, candidates: DEFAULT_PICK_CANDIDATES });
  assert.deepEqual(pickTuning({ [CHANNEL_OPTION.targetUtilization]: 0.95, [CHANNEL_OPTION.pickCandidates]: 2 }), { targetUtilization: 0.95, candidates: 2 });
  for (const bad of [0, -1, 2.5, '4', Number.NaN, Infinity]) {
    assert.equal(pickTuning({ [CHANNEL_OPTION.pickCandidates]: bad }).candidates, DEFAULT_PICK_CANDIDATES, String(bad));
  }
  assert.equal(pickTuning({ [CHANNEL_OPTION.targetUtilization]: 0 }).targetUtilization, DEFAULT_TARGET_UTILIZATION);
});
