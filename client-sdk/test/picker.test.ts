// The pure pick path: EDF over weights, load shedding, lb-token metadata.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { experimental, Metadata, status } from '@grpc/grpc-js';
import {
  CallLoad,
  FLEET_AVERAGE_WEIGHT,
  FleetLoad,
  DropAccumulator,
  EdfScheduler,
  FAILURE_SCORE_PENALTY,
  LB_TOKEN_METADATA_KEY,
  REMOTE_LOAD_FRESH_MS,
  WeightedPicker,
  type PickTarget,
} from '../src/picker.js';

function counts(s: EdfScheduler, n: number): number[] {
  const c = new Array<number>(s.size).fill(0);
  for (let i = 0; i < n; i++) c[s.next()]++;
  return c;
}

test('EDF gives every entry its weighted share within one pick, from any start phase', () => {
  for (const seed of [0, 0.3, 0.99]) {
    const s = new EdfScheduler([1, 2, 3, 10], () => seed);
    const c = counts(s, 1600);
    [100, 200, 300, 1000].forEach((want, i) => assert.ok(Math.abs(c[i] - want) <= 1, `entry ${i}: ${c[i]} vs ${want}`));
  }
});

test('EDF interleaves instead of bursting: the heavy entry never runs more than its ratio (+1) in a row', () => {
  const s = new EdfScheduler([1, 3], () => 0.5);
  let run = 0;
  let longest = 0;
  for (let i = 0; i < 400; i++) {
    run = s.next() === 1 ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  assert.ok(longest <= 4, `longest run ${longest}`);
});

test('EDF keeps its split over millions of picks (deadline rebasing)', () => {
  const s = new EdfScheduler([1e-6, 2e-6], () => 0);
  const c = counts(s, 3_000_000);
  assert.ok(Math.abs(c[0] - 1_000_000) <= 1 && Math.abs(c[1] - 2_000_000) <= 1, String(c));
});

test('EDF rejects weights that cannot be scheduled', () => {
  assert.throws(() => new EdfScheduler([]));
  assert.throws(() => new EdfScheduler([1, 0]));
  assert.throws(() => new EdfScheduler([Number.NaN]));
});

test('drops are spread evenly: 1% drops exactly one pick in a hundred', () => {
  const d = new DropAccumulator(10_000);
  const drops = Array.from({ length: 1000 }, () => d.shouldDrop());
  assert.equal(drops.filter(Boolean).length, 10);
  assert.equal(drops.indexOf(true), 99);
  assert.equal(new DropAccumulator(0).shouldDrop(), false);
});

function target(name: string, weight: number, token: string, load = new CallLoad()): PickTarget {
  const result = {
    pickResultType: experimental.PickResultType.COMPLETE,
    subchannel: { name } as unknown as experimental.SubchannelInterface,
    status: null,
    onCallStarted: null,
    onCallEnded: null,
  };
  return { result, token, weight, load };
}

test('the picker returns the prebuilt result and sets lb-token only for backends that have one', () => {
  const picker = new WeightedPicker([target('a', 1, 'tok-a'), target('b', 1, '')], null, () => 0);
  const seen = new Map<string, string[]>();
  const results = new Set<unknown>();
  for (let i = 0; i < 10; i++) {
    const md = new Metadata();
    const r = picker.pick({ metadata: md, extraPickInfo: {} });
    results.add(r);
    const name = (r.subchannel as unknown as { name: string }).name;
    seen.set(name, md.get(LB_TOKEN_METADATA_KEY).map(String));
  }
  assert.equal(results.size, 2, 'one result object per backend, reused');
  assert.deepEqual(seen.get('a'), ['tok-a']);
  assert.deepEqual(seen.get('b'), []);
});

test('the picker drops the configured share with UNAVAILABLE and counts each drop', () => {
  let dropped = 0;
  const picker = new WeightedPicker([target('a', 1, 't')], { ppm: 500_000, onDrop: () => dropped++ });
  let drops = 0;
  for (let i = 0; i < 100; i++) {
    const r = picker.pick({ metadata: new Metadata(), extraPickInfo: {} });
    if (r.pickResultType === experimental.PickResultType.DROP) {
      drops++;
      assert.equal(r.status!.code, status.UNAVAILABLE);
    }
  }
  assert.equal(drops, 50);
  assert.equal(dropped, 50);
});

/** The name of the backend (see target) a pick chose. */
function pickName(picker: WeightedPicker): string {
  return (picker.pick({ metadata: new Metadata(), extraPickInfo: {} }).subchannel as unknown as { name: string }).name;
}

function picks(picker: WeightedPicker, n: number): Map<string, number> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const name = pickName(picker);
    seen.set(name, (seen.get(name) ?? 0) + 1);
  }
  return seen;
}

test('the pick: idle, healthy backends tie, so the weighted split is exact', () => {
  const even = new WeightedPicker([target('a', 1, '', new CallLoad()), target('b', 2, '', new CallLoad()), target('c', 3, '', new CallLoad())], null, () => 0);
  const c = picks(even, 600);
  assert.deepEqual([c.get('a'), c.get('b'), c.get('c')], [100, 200, 300]);
});

test('the pick compares up to pick_candidates backends: the lightest of four wins, not only the two EDF would use next', () => {
  const loads = [3, 3, 3, 0].map((inFlight) => Object.assign(new CallLoad(), { inFlight }));
  const fleet = () => ['a', 'b', 'c', 'idle'].map((name, i) => target(name, 1, '', loads[i]));
  // Equal phases (random = 0): EDF's order is a, b, c, idle, so the first two are loaded.
  const all = picks(new WeightedPicker(fleet(), null, () => 0, undefined, { candidates: 8 }), 30);
  assert.equal(all.get('idle'), 30, 'compared with all four, the idle backend wins every pick');
  const pair = picks(new WeightedPicker(fleet(), null, () => 0, undefined, { candidates: 2 }), 30);
  assert.ok((pair.get('idle') ?? 0) < 30 && (pair.get('idle') ?? 0) > 0, `with two, it wins only when drawn: ${pair.get('idle')}`);
  const edf = picks(new WeightedPicker(fleet(), null, () => 0, undefined, { candidates: 1 }), 40);
  assert.equal(edf.get('idle'), 10, 'with one, EDF alone: its weighted share');
});

test('the pick keeps a 1:2:3 split when a few calls are in flight and nothing queues', () => {
  // Closed loop, as in a client with a fixed number of callers: every call takes 15 to 25 ms
  // whichever backend serves it, so calls in flight say nothing of a queue. A fixed margin let
  // the light backend win whenever it had none: with 3 callers it got twice its share.
  for (const callers of [2, 3, 10, 30]) {
    for (const candidates of [2, 8]) {
      let seed = 1;
      const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
      let now = 0;
      const loads = [1, 2, 3].map(() => new CallLoad());
      const picker = new WeightedPicker(['a', 'b', 'c'].map((name, i) => target(name, i + 1, '', loads[i])), null, random, () => now, { candidates });
      const got = [0, 0, 0];
      const running: Array<{ endsAt: number; on: number }> = [];
      const start = () => {
        const on = 'abc'.indexOf(pickName(picker));
        got[on]++;
        loads[on].started(now);
        running.push({ endsAt: now + 15 + 10 * random(), on });
      };
      for (let i = 0; i < callers; i++) start();
      for (let done = 0; done < 6000; done++) {
        running.sort((x, y) => x.endsAt - y.endsAt);
        const call = running.shift()!;
        now = call.endsAt;
        loads[call.on].ended(false, now);
        start();
      }
      const total = got[0] + got[1] + got[2];
      got.forEach((n, i) => {
        const want = (total * (i + 1)) / 6;
        assert.ok(Math.abs(n - want) <= 0.05 * want, `${callers} callers, ${candidates} candidates: backend ${'abc'[i]} got ${n} of ${total}, its weight says ${want.toFixed(0)}`);
      });
    }
  }
});

test('the pick samples a large fleet: candidates from a random start, so every backend is looked at', () => {
  const names = Array.from({ length: 20 }, (_, i) => `b${i}`);
  const targets = names.map((name) => target(name, 1, '', Object.assign(new CallLoad(), { inFlight: name === 'b13' ? 0 : 4 })));
  let x = 0.123;
  const random = () => (x = (x * 9301 + 0.49297) % 1); // deterministic, spread over [0, 1)
  const c = picks(new WeightedPicker(targets, null, random, undefined, { candidates: 8 }), 200);
  const idle = c.get('b13') ?? 0;
  // Its EDF share is 10 of 200; it wins whenever it is among the 7 others compared (7 of 19).
  assert.ok(idle > 50 && idle < 110, `the idle backend got ${idle} of 200 picks`);
  assert.ok(names.every((n) => n === 'b13' || (c.get(n) ?? 0) > 0), 'the rest keep EDF turns when it is not drawn');
});

test('the pick: a backend with calls piling up on this client gets fewer new ones at once', () => {
  const slow = new CallLoad();
  const fast = new CallLoad();
  const picker = new WeightedPicker([target('slow', 1, '', slow), target('fast', 1, '', fast)], null, () => 0);
  slow.inFlight = 10; // its calls are not coming back
  const c = picks(picker, 100);
  assert.equal(c.get('slow') ?? 0, 0, 'EDF alone would give it half');
  slow.inFlight = 0;
  const d = picks(picker, 100);
  assert.ok((d.get('slow') ?? 0) >= 45, `back to its share once its calls return: ${d.get('slow')}`);
});

test('the pick: recent failures count against a backend; successes wash them out', () => {
  const flaky = new CallLoad();
  for (let i = 0; i < 20; i++) flaky.ended(i % 3 === 0);
  assert.ok(flaky.failureRate > 0.2 && flaky.failureRate < 0.45, String(flaky.failureRate));
  const healthy = new CallLoad();
  assert.ok(flaky.score(1, 0) > healthy.score(1, 0) + 0.8, 'a third of calls failing weighs like about one more call in flight');
  for (let i = 0; i < 60; i++) flaky.ended(false);
  assert.ok(flaky.failureRate < 0.01);
  flaky.started();
  assert.equal(flaky.inFlight, 1);
  flaky.ended(false);
  flaky.ended(false);
  assert.equal(flaky.inFlight, 0, 'never negative');
});

test('the pick: calls on a slower backend weigh more, by how long calls take there', () => {
  let now = 0;
  const slow = new CallLoad();
  const fast = new CallLoad();
  // Little's law between completions: calls in flight one at a time, 400 ms and 80 ms each.
  for (let i = 0; i < 5; i++) {
    assert.equal(slow.latencyMs, 0, 'unknown until a few calls have ended');
    slow.started(1000 + i * 500);
    slow.ended(false, 1400 + i * 500);
    fast.started(1320 + i * 500);
    fast.ended(false, 1400 + i * 500);
  }
  assert.equal(slow.latencyMs, 400);
  assert.equal(fast.latencyMs, 80);
  now = 3420; // both last ended at 3400
  const picker = new WeightedPicker([target('slow', 1, '', slow), target('fast', 1, '', fast)], null, () => 0, () => now);
  slow.inFlight = 1;
  fast.inFlight = 1;
  assert.equal(picks(picker, 50).get('slow') ?? 0, 0, 'one call on the slow backend outweighs one on the fast one');
  slow.inFlight = 0;
  fast.inFlight = 0;
  assert.equal(picks(picker, 50).get('slow') ?? 0, 0, 'idle, it still costs a new call four fast calls of waiting');
  fast.inFlight = 5;
  assert.ok((picks(picker, 50).get('slow') ?? 0) >= 20, 'but it takes its turns once the fast one is busier than that');
  fast.inFlight = 0;
  // No call on it for a second: its average is stale, so it gets its turns again and relearns.
  now = 3400 + 1000 + 1;
  assert.equal(slow.latencyAt(now), 0);
  const relearn = picks(picker, 100).get('slow') ?? 0;
  assert.ok(relearn >= 48 && relearn <= 52, `stale: the split holds, with no burst to catch up (${relearn})`);
  slow.started(now);
  slow.ended(false, now + 90);
  assert.equal(slow.latencyMs, 90, 'recovered: one call after the pause replaces the average');
  slow.started(now + 1400);
  slow.ended(false, now + 1900);
  assert.equal(slow.latencyMs, 90, 'a slower call after a pause does not raise it at once');
  // Two calls overlapping: 2 in flight for 100 ms, then 1 for 100 ms -> 300 call-ms over 2 completions.
  const pair = new CallLoad();
  for (let i = 0; i < 3; i++) {
    pair.started(i * 1000);
    pair.started(i * 1000);
    pair.ended(false, i * 1000 + 100);
    pair.ended(false, i * 1000 + 200);
  }
  // Samples 200, 100, 200, 100, 200 (warm-up mean 160), then 100.
  // The sixth, 100 ms after the fifth, weighs 100 / (100 + LATENCY_AVERAGE_MS).
  assert.equal(pair.latencyMs, 160 + ((100 - 160) * 100) / 1100);
});

test('the pick: the latency average spans time, not calls, so a backend called rarely relearns as fast', () => {
  const recovering = new CallLoad();
  let t = 0;
  // Five calls of a second each: 1,000 ms average.
  for (let i = 0; i < 5; i++) {
    recovering.started(t);
    recovering.ended(false, (t += 1000));
  }
  assert.equal(recovering.latencyMs, 1000);
  // Recovered, and called only now and then: an 80 ms call every 300 ms.
  for (let i = 0; i < 10; i++) {
    recovering.started((t += 220));
    recovering.ended(false, (t += 80));
  }
  assert.ok(recovering.latencyMs < 200, `three seconds on, within twice the new latency: ${recovering.latencyMs.toFixed(0)} ms`);
});

/** Five 100 ms calls on each load, one every `everyMs` from 0, so their averages are known: returns the time after. */
function warmUp(loads: CallLoad[], everyMs: number): number {
  for (let i = 0; i < 5; i++) {
    for (const load of loads) {
      load.started(i * everyMs);
      load.ended(false, i * everyMs + 100);
    }
  }
  return 5 * everyMs;
}

test('the pick: a backend that stops completing calls counts as slow before its first slow call ends', () => {
  const slowing = new CallLoad();
  const steady = new CallLoad();
  let now = warmUp([slowing, steady], 1000);
  const picker = new WeightedPicker([target('slowing', 1, '', slowing), target('steady', 1, '', steady)], null, () => 0, () => now);
  // One call each, both just started: 100 ms averages, nothing to tell them apart.
  slowing.started(now);
  steady.started(now);
  now += 50;
  assert.ok((picks(picker, 20).get('slowing') ?? 0) >= 9, 'equal so far: the split holds');
  // 350 ms on, steady has finished calls and started new ones; slowing's first is still running.
  for (const at of [now + 50, now + 250]) {
    steady.ended(false, at);
    steady.started(at);
  }
  now += 300;
  assert.equal(slowing.latencyMs, 100, 'no completion yet: the average has not moved');
  assert.equal(slowing.latencyAt(now), 350, 'but its running call already took 3.5x the average');
  assert.equal(picks(picker, 20).get('slowing') ?? 0, 0, 'passed over while its call runs long');
  slowing.ended(false, now);
  assert.ok(slowing.latencyMs > 100 && slowing.latencyAt(now) === slowing.latencyMs, 'the completion lands in the average');
});

test('the pick: a slow backend stays passed over between its completions, by the age of its oldest call', () => {
  const slowed = new CallLoad();
  const steady = new CallLoad();
  let now = warmUp([slowed, steady], 100);
  const picker = new WeightedPicker([target('slowed', 1, '', slowed), target('steady', 1, '', steady)], null, () => 0, () => now);
  // Slowed down: two calls 150 ms apart; the first ends after 300 ms, the second runs on.
  slowed.started(now);
  slowed.started(now + 150);
  slowed.ended(false, now + 300);
  now += 450;
  assert.ok(slowed.latencyMs < 2 * steady.latencyMs, `one completion moves the average too little to tell (${slowed.latencyMs.toFixed(0)} ms)`);
  assert.equal(slowed.latencyAt(now), 300, 'but the call still running has been at it for 300 ms');
  assert.equal(picks(picker, 20).get('slowed') ?? 0, 0, 'so the backend is still passed over right after a completion');
});

test('the pick: failing fast does not make a backend look fast', () => {
  const failing = new CallLoad();
  let t = 0;
  for (let i = 0; i < 5; i++) {
    failing.started(t);
    failing.ended(false, (t += 100));
  }
  for (let i = 0; i < 20; i++) {
    failing.started((t += 100));
    failing.ended(true, (t += 2));
  }
  assert.equal(failing.latencyMs, 100, 'quick failures leave the average alone');
  assert.ok(failing.failureRate > 0.8, 'and count as failures');
  failing.started((t += 100));
  failing.ended(true, (t += 2000));
  assert.ok(failing.latencyMs > 100, 'a slow failure (a timeout) raises it');
});

test("the pick: other clients' calls on a backend, as its trailer says, steer this client's calls away until the figure fades", () => {
  let now = 1000;
  const fleet = new FleetLoad();
  const busy = new CallLoad(fleet);
  const idle = new CallLoad(fleet);
  const picker = new WeightedPicker([target('busy', 1, '', busy), target('idle', 1, '', idle)], null, () => 0, () => now);
  busy.observed(12, 0.9, now);
  const average = 12 * FLEET_AVERAGE_WEIGHT;
  assert.equal(fleet.othersInFlight, average);
  assert.equal(busy.inFlightAt(now), 12);
  assert.equal(idle.inFlightAt(now), average, 'a backend not heard from counts as an average one');
  assert.equal(picks(picker, 100).get('busy') ?? 0, 0, 'EDF alone would give it half');
  now += REMOTE_LOAD_FRESH_MS / 2;
  assert.equal(busy.inFlightAt(now), average + (12 - average) / 2, 'half faded to the average');
  now += REMOTE_LOAD_FRESH_MS;
  assert.equal(busy.inFlightAt(now), average);
  const later = picks(picker, 100).get('busy') ?? 0;
  assert.ok(later >= 45 && later <= 55, `back to its share once the figure is stale: ${later}`);
});

test('the pick: an aged figure fades to the fleet average, so the backend heard from last does not look the busiest', () => {
  const now = 5000;
  const fleet = new FleetLoad();
  const fresh = new CallLoad(fleet);
  const stale = new CallLoad(fleet);
  // Both backends carry 3 calls of other clients; one said so a second ago, the other just now.
  for (let i = 0; i < 50; i++) stale.observed(3, -1, now - 1000);
  fresh.observed(3, -1, now);
  assert.ok(Math.abs(stale.inFlightAt(now) - fresh.inFlightAt(now)) < 0.05, `${stale.inFlightAt(now)} vs ${fresh.inFlightAt(now)}`);
  const split = picks(new WeightedPicker([target('fresh', 1, '', fresh), target('stale', 1, '', stale)], null, () => 0, () => now), 100).get('fresh') ?? 0;
  assert.ok(split >= 45 && split <= 55, `alike, they split evenly: ${split}`);
});

test("the pick: this client's own calls are not counted twice: the trailer's count covers them", () => {
  const load = new CallLoad();
  load.started(0);
  load.started(0);
  load.observed(5, -1, 0);
  assert.equal(load.inFlightAt(0), 5);
  load.observed(1, -1, 0);
  assert.equal(load.inFlightAt(0), 2, 'a backend that has not seen our newest calls yet: never below our own count');
});

test('the pick: failures count against a backend only while the other candidate has room (target utilization)', () => {
  const flaky = new CallLoad();
  for (let i = 0; i < 20; i++) flaky.ended(i % 2 === 0, 0);
  assert.ok(flaky.failureRate > 0.4);
  const roomy = new CallLoad();
  roomy.observed(0, 0.3, 0);
  const avoided = picks(new WeightedPicker([target('flaky', 1, '', flaky), target('other', 1, '', roomy)], null, () => 0, () => 0), 100).get('flaky') ?? 0;
  assert.ok(avoided <= 10, `the other at 30 %: the flaky one avoided (${avoided})`);
  const full = new CallLoad();
  full.observed(0, 0.95, 0);
  const kept = picks(new WeightedPicker([target('flaky', 1, '', flaky), target('other', 1, '', full)], null, () => 0, () => 0), 100).get('flaky') ?? 0;
  assert.equal(kept, 50, 'the other at 95 %: the flaky one keeps its share');
  const queued = new CallLoad();
  queued.observed(3, 0.95, 0);
  const fastFailing = picks(new WeightedPicker([target('flaky', 1, '', flaky), target('other', 1, '', queued)], null, () => 0, () => 0), 100).get('flaky') ?? 0;
  assert.equal(fastFailing, 50, 'nor more than its share, though its failing calls leave its queue shorter');
  const withTarget = new WeightedPicker([target('flaky', 1, '', flaky), target('other', 1, '', full)], null, () => 0, () => 0, { targetUtilization: 0.99 });
  assert.ok((picks(withTarget, 100).get('flaky') ?? 0) <= 10, 'a target of 0.99 leaves room at 95 %');
  assert.ok(flaky.score(1, 0, 1, true) - flaky.score(1, 0, 1, false) > FAILURE_SCORE_PENALTY * 0.4);
});
