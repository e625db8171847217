// The per-call pick: earliest-deadline-first over the READY backends' weights, refined by a
// power of d choices on the load this client sees (its own calls in flight, and the backend's
// own count from the trailer of each answer), plus the assignment's load shedding. Pure and
// allocation-free per pick: the scheduler lives in typed arrays and every pick result is built
// once, when the picker is.
import { experimental, Metadata, status } from '@grpc/grpc-js';

type Picker = experimental.Picker;
type PickArgs = experimental.PickArgs;
type PickResult = experimental.PickResult;

/** Metadata key carrying the backend's load-balance token (the grpclb name for it). */
export const LB_TOKEN_METADATA_KEY = 'lb-token';

/** Deadlines are shifted back to zero once the earliest passes this, to keep float precision. */
const REBASE_AT = 2 ** 40;

/**
 * Earliest deadline first: entry i is due every 1/weight[i]; each pick takes the entry due
 * first and moves its deadline one period on. Over any window the share of entry i is within
 * one pick of weight[i]/sum(weights). Start phases are random within one period so that many
 * clients built at the same moment do not all pick the same backend first.
 */
export class EdfScheduler {
  private readonly period: Float64Array;
  private readonly deadline: Float64Array;
  /** Binary min-heap of entry indices ordered by (deadline, index). */
  private readonly heap: Int32Array;

  constructor(weights: ArrayLike<number>, random: () => number = Math.random) {
    const n = weights.length;
    if (n === 0) throw new RangeError('EdfScheduler needs at least one entry');
    this.period = new Float64Array(n);
    this.deadline = new Float64Array(n);
    this.heap = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const w = weights[i];
      if (!(w > 0) || !Number.isFinite(w)) throw new RangeError(`EdfScheduler weight ${i} is ${w}`);
      this.period[i] = 1 / w;
      this.deadline[i] = random() * this.period[i];
      this.heap[i] = i;
    }
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  get size(): number {
    return this.heap.length;
  }

  /** Index of the next entry to use. */
  next(): number {
    return this.take(0);
  }

  /**
   * The entry due first, or a better one among up to `candidates` - 1 others: a power of d
   * choices that keeps EDF's order whenever `better(other, best so far)` says no, so equal
   * candidates keep the exact weighted split. The others are the whole heap when it is small
   * enough, else a run of heap positions from a random start (`random`), so that every entry
   * is compared now and then. A
   * first entry passed over keeps its turn for later, but never falls more than one period
   * behind the schedule: passed over briefly, it catches up and keeps its share; avoided for
   * long (a slow backend), it gets no burst of calls when it is well again.
   */
  nextOfMany(better: (other: number, best: number) => boolean, candidates: number, random: () => number): number {
    const heap = this.heap;
    const others = Math.min(candidates, heap.length) - 1;
    if (others < 1) return this.take(0);
    const span = heap.length - 1;
    const from = others === span ? 0 : Math.floor(random() * span);
    let best = 0;
    for (let k = 0; k < others; k++) {
      const at = 1 + ((from + k) % span);
      if (better(heap[at], heap[best])) best = at;
    }
    if (best === 0) return this.take(0);
    const passed = heap[0];
    const chosen = this.take(best);
    // `passed` is still on top: the chosen entry only moved down its own subtree.
    const floor = this.deadline[chosen] - this.period[chosen] - this.period[passed];
    if (this.deadline[passed] < floor) {
      this.deadline[passed] = floor;
      this.siftDown(0);
    }
    return chosen;
  }

  /** Uses the entry at heap position `at`: moves its deadline one period on. */
  private take(at: number): number {
    const chosen = this.heap[at];
    this.deadline[chosen] += this.period[chosen];
    this.siftDown(at);
    if (this.deadline[this.heap[0]] > REBASE_AT) this.rebase();
    return chosen;
  }

  private before(a: number, b: number): boolean {
    const da = this.deadline[a];
    const db = this.deadline[b];
    return da < db || (da === db && a < b);
  }

  private siftDown(at: number): void {
    const heap = this.heap;
    const n = heap.length;
    let i = at;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      const r = l + 1;
      const c = r < n && this.before(heap[r], heap[l]) ? r : l;
      if (!this.before(heap[c], heap[i])) return;
      const t = heap[i];
      heap[i] = heap[c];
      heap[c] = t;
      i = c;
    }
  }

  private rebase(): void {
    const base = this.deadline[this.heap[0]];
    for (let i = 0; i < this.deadline.length; i++) this.deadline[i] -= base;
  }
}

/**
 * Spreads drops evenly: every pick adds drop_ppm to an accumulator and a pick drops when it
 * reaches one million. Deterministic, so 1 % means exactly one call in a hundred.
 */
export class DropAccumulator {
  private acc = 0;
  constructor(readonly ppm: number) {}
  shouldDrop(): boolean {
    if (this.ppm <= 0) return false;
    this.acc += this.ppm;
    if (this.acc < 1_000_000) return false;
    this.acc -= 1_000_000;
    return true;
  }
}

/**
 * What a recent failure rate of 1 adds to a backend's load score, in calls in flight (see
 * CallLoad.score). It moves a failing backend's turn to the other candidate only while that one
 * has room (see WeightedPicker): calls moved onto a saturated backend fail later, by deadline,
 * instead of now. It always keeps a failing backend from taking another's turn.
 */
export const FAILURE_SCORE_PENALTY = 6;
/**
 * The utilization up to which a backend has room for calls avoided elsewhere for their
 * failures; the channel option `lookaside.target_utilization` overrides it.
 */
export const DEFAULT_TARGET_UTILIZATION = 0.8;
/**
 * A backend's own count of calls in flight (from the trailer of an answer, see
 * call-load-trailer.ts) counts in full when just read and fades to the fleet's average (see
 * FleetLoad) over this long, or
 * over REMOTE_LOAD_FRESH_LATENCIES times the latency average if longer: by then the calls it
 * counted have ended and others have taken their place.
 */
export const REMOTE_LOAD_FRESH_MS = 100;
export const REMOTE_LOAD_FRESH_LATENCIES = 2;
/** Weight of the newest call in CallLoad's failure average (about the last 1/x calls count). */
export const FAILURE_AVERAGE_WEIGHT = 0.2;
/**
 * Time constant of CallLoad's latency average: a completion weighs dt / (dt + this), dt being
 * the time since the previous one, so the average covers about the last second whether the
 * backend finishes a thousand calls of this client's in it or two.
 */
export const LATENCY_AVERAGE_MS = 1000;
/** Completions before a backend's latency counts (their mean starts the average). */
export const LATENCY_MIN_SAMPLES = 5;
/**
 * A latency average is stale once this client has had no call on the backend for this long (or
 * for twice the average, if longer): it stops counting in picks, so a backend avoided for being
 * slow gets a call again, and that call's time replaces the average if it is lower (a recovered
 * backend is seen at once; a slow one is avoided again).
 */
export const LATENCY_STALE_MS = 1000;
/**
 * Backends compared per pick, EDF's own choice included; the channel option
 * `lookaside.pick_candidates` overrides it. Comparing all of a small fleet's backends is what
 * brings a client's picks close to a central join-the-shortest-queue: with only the two EDF
 * would use next, the pair is mostly the two this client used longest ago, which its own calls
 * in flight already favour. In the balance bench's equal fleet at 90 % load (80 ms calls), p99
 * was 1.03 to 1.08 times the central oracle's with all four (under the earlier half-call
 * margin); with two, 1.16 to 1.24. Each candidate costs one score, so a large fleet compares
 * a sample: a run from a random start.
 * The default stays 2: with more, the split follows this client's calls in flight more than
 * the weights, and in the SDK's integration test (a fast 1:2:3 fleet, 10 callers, 1,000 calls)
 * it swung by up to 20 % of a backend's share from run to run; with two, 2 % in five runs
 * of six.
 */
export const DEFAULT_PICK_CANDIDATES = 2;
/** How much slower one backend's calls must be than the other's to weigh more in a pick. */
export const SLOWER_LATENCY_RATIO = 2;
/**
 * Start times kept per backend, oldest first, to tell how long the oldest call in flight has
 * been running: a fixed ring, so nothing is allocated per call. Past this many calls in flight
 * the newer ones go untracked (the age read is then a lower bound, never too high).
 */
export const TRACKED_STARTS = 32;
/**
 * Latencies are compared as at least this long: below it, differences are this process's own
 * scheduling noise (a busy event loop, a GC pause), not the backend's speed.
 */
export const LATENCY_FLOOR_MS = 5;

/** Weight of the newest trailer in FleetLoad's average of other clients' calls in flight. */
export const FLEET_AVERAGE_WEIGHT = 0.1;

/**
 * Other clients' calls in flight on an average backend of the channel, per the trailers: what a
 * backend's own figure fades to as it ages. Fading to zero instead would make the backend that
 * answered last look the busiest of all, and send the next calls to those heard of longest ago.
 */
export class FleetLoad {
  othersInFlight = 0;

  observed(othersInFlight: number): void {
    this.othersInFlight += (othersInFlight - this.othersInFlight) * FLEET_AVERAGE_WEIGHT;
  }
}

/**
 * What this client sees of one backend's load, updated by the pick result's call tracking and
 * kept across pickers: calls in flight, how long calls take, and recent failures.
 */
export class CallLoad {
  inFlight = 0;
  failureRate = 0;
  /** Moving average of how long this client's calls take there, ms; 0 until LATENCY_MIN_SAMPLES calls have ended. */
  latencyMs = 0;
  private completions = 0;
  private warmupSumMs = 0;
  private lastCompletionMs = 0;
  /** The calls in flight started after the average went stale: the next completion relearns it. */
  private relearning = false;
  /** Calls in flight integrated over time (call·ms) since the last completion. */
  private area = 0;
  private lastEventMs = -1;
  /** Start times of the calls in flight, oldest at `startsHead` (calls are taken to end in the order they started). */
  private readonly starts = new Float64Array(TRACKED_STARTS);
  private startsHead = 0;
  private startsCount = 0;
  /** Other clients' calls in flight there, per the newest trailer; -1 before one. */
  private othersInFlight = -1;
  private othersAtMs = 0;
  /** The backend's utilization per the newest trailer; -1 = unknown. */
  private remoteUtilization = -1;

  /** `fleet`: shared by the channel's backends. */
  constructor(private readonly fleet: FleetLoad = new FleetLoad()) {}

  started(nowMs: number = performance.now()): void {
    if (this.inFlight === 0 && this.latencyMs > 0 && this.idleTooLong(nowMs)) this.relearning = true;
    if (this.startsCount < TRACKED_STARTS) this.starts[(this.startsHead + this.startsCount++) % TRACKED_STARTS] = nowMs;
    this.advance(nowMs);
    this.inFlight++;
  }

  ended(failed: boolean, nowMs: number = performance.now()): void {
    this.advance(nowMs);
    if (this.inFlight > 0) this.inFlight--;
    this.failureRate += ((failed ? 1 : 0) - this.failureRate) * FAILURE_AVERAGE_WEIGHT;
    // Little's law between two completions: the in-flight area is one call's time there. No
    // per-call state needed, so nothing is allocated on the call path.
    const sample = this.area;
    const sinceLast = nowMs - this.lastCompletionMs;
    this.area = 0;
    // Whichever call ended, drop the oldest start: when calls end out of order, the age read
    // for the rest is too low, never too high.
    if (this.startsCount > 0) {
      this.startsHead = (this.startsHead + 1) % TRACKED_STARTS;
      this.startsCount--;
    }
    this.lastCompletionMs = nowMs;
    this.completions++;
    if (this.completions < LATENCY_MIN_SAMPLES) {
      // One early call (a cold connection, a JIT pause) must not brand a backend as slow.
      this.warmupSumMs += sample;
      return;
    }
    if (this.completions === LATENCY_MIN_SAMPLES) this.latencyMs = (this.warmupSumMs + sample) / LATENCY_MIN_SAMPLES;
    // A quick failure says nothing of how long a served call takes: it may raise the average
    // (a timeout on a slow backend), never lower it, or failing fast would attract calls.
    else if (failed && sample < this.latencyMs) return;
    else if (this.relearning) this.latencyMs = Math.min(this.latencyMs, sample);
    else this.latencyMs += ((sample - this.latencyMs) * sinceLast) / (sinceLast + LATENCY_AVERAGE_MS);
    this.relearning = false;
  }

  /**
   * What the backend said of itself in a call's trailer at `nowMs` (after that call's end was
   * counted): its calls in flight from every client, and its utilization; -1 = not said.
   */
  observed(requestsInFlight: number, utilization: number, nowMs: number): void {
    if (requestsInFlight >= 0) {
      // The backend may not have seen this client's newest calls yet: never below zero.
      this.othersInFlight = Math.max(0, requestsInFlight - this.inFlight);
      this.othersAtMs = nowMs;
      this.fleet.observed(this.othersInFlight);
    }
    if (utilization >= 0) this.remoteUtilization = utilization;
  }

  /**
   * Calls in flight there as best this client knows at `nowMs`: its own, plus the other
   * clients' as of the newest trailer, fading with its age (see REMOTE_LOAD_FRESH_MS) to the
   * fleet's average (see FleetLoad); the average alone before a trailer.
   */
  inFlightAt(nowMs: number): number {
    const average = this.fleet.othersInFlight;
    if (this.othersInFlight < 0) return this.inFlight + average;
    const window = Math.max(REMOTE_LOAD_FRESH_MS, REMOTE_LOAD_FRESH_LATENCIES * this.latencyMs);
    const age = nowMs - this.othersAtMs;
    return age >= window ? this.inFlight + average : this.inFlight + average + (this.othersInFlight - average) * (1 - age / window);
  }

  /**
   * Whether the backend has room for calls avoided elsewhere: it said it runs below `target`
   * utilization, or says nothing of it (a backend without the trailer is taken to have room).
   */
  hasRoom(target: number): boolean {
    return this.remoteUtilization < target;
  }

  /**
   * How long calls take there as this client can tell at `nowMs`: the moving average, or, when
   * longer, the age of the oldest call in flight (a lower bound on that call's time). A backend
   * that slows down shows as slow while its first slow calls are still running, not only once
   * they end, and stays so between their completions. 0 = unknown: before the average has its
   * samples, or while it is stale (see LATENCY_STALE_MS) and no running call says worse.
   */
  latencyAt(nowMs: number): number {
    if (this.latencyMs === 0) return 0;
    if (this.inFlight === 0) return this.idleTooLong(nowMs) ? 0 : this.latencyMs;
    const running = this.startsCount > 0 ? nowMs - this.starts[this.startsHead] : 0;
    if (running > this.latencyMs) return running;
    return this.relearning ? 0 : this.latencyMs;
  }

  /**
   * Lower is better: about how long a new call would take there, in calls of the other
   * candidate's length (`latencyFactor` = this backend's latency over the other's, 1 when
   * alike), beyond the one call's own time: calls in flight (see inFlightAt) times the
   * factor, plus the factor minus one for the new call itself, so an idle backend five times
   * slower counts as four calls queued. Per the backend's share of the weight (1 = an average
   * share), plus a penalty for recent failures when `penalized`. Idle, healthy backends all
   * score 0, so they tie and the weighted order decides.
   */
  score(relativeWeight: number, nowMs: number, latencyFactor = 1, penalized = true): number {
    const queued = (this.inFlightAt(nowMs) * latencyFactor + latencyFactor - 1) / relativeWeight;
    return penalized ? queued + FAILURE_SCORE_PENALTY * this.failureRate : queued;
  }

  /** With no call in flight: the last one ended long enough ago for the average to be stale. */
  private idleTooLong(nowMs: number): boolean {
    return nowMs - this.lastEventMs > Math.max(LATENCY_STALE_MS, 2 * this.latencyMs);
  }

  private advance(nowMs: number): void {
    if (this.lastEventMs >= 0) this.area += this.inFlight * (nowMs - this.lastEventMs);
    this.lastEventMs = nowMs;
  }
}

/** A READY backend as the picker sees it; `result` is built once per backend by the policy. */
export interface PickTarget {
  readonly result: PickResult;
  /** Sent as `lb-token` metadata; empty = none (the policy leaves it empty unless the channel sends tokens). */
  readonly token: string;
  readonly weight: number;
  /** This client's view of the backend's load; the picker prefers the less loaded of two. */
  readonly load: CallLoad;
}

export interface DropConfig {
  readonly ppm: number;
  /** Called for each dropped call (counts it for ClientLoad). */
  readonly onDrop: () => void;
}

export function dropResult(ppm: number): PickResult {
  return {
    pickResultType: experimental.PickResultType.DROP,
    subchannel: null,
    status: {
      code: status.UNAVAILABLE,
      details: `lookaside: call dropped by load shedding (${ppm / 10_000}% of calls)`,
      metadata: new Metadata(),
    },
    onCallStarted: null,
    onCallEnded: null,
  };
}

/** Per-channel settings of the pick (channel options; see DEFAULT_TARGET_UTILIZATION, DEFAULT_PICK_CANDIDATES). */
export interface PickTuning {
  readonly targetUtilization?: number;
  readonly candidates?: number;
}

/**
 * Picks among READY backends by weight, refined per call: EDF's next backend is compared with
 * up to candidates - 1 others, and one wins when it carries less load on this client even with
 * this call added (calls in flight per weight, weighed by how long calls take there, and recent
 * failures), which reacts to a backend slowing or failing long before the next assignment;
 * otherwise EDF's choice stands, so the assigned shares hold. Built by the policy on every change,
 * never mutated.
 */
export class WeightedPicker implements Picker {
  private readonly scheduler: EdfScheduler;
  private readonly results: PickResult[];
  private readonly tokens: string[];
  private readonly loads: CallLoad[];
  /** Each weight over the mean weight. */
  private readonly shares: Float64Array;
  private readonly lessLoaded = (other: number, best: number): boolean => {
    const a = this.loads[other];
    const b = this.loads[best];
    const now = this.clock();
    // A call waiting on a backend five times slower weighs five times as much. Latencies
    // within SLOWER_LATENCY_RATIO of each other count as equal (their averages are noisy), and
    // while either is unknown, calls in flight count alike.
    let fa = 1;
    let fb = 1;
    if (a.latencyMs > 0 && b.latencyMs > 0) {
      const la = a.latencyAt(now);
      const lb = b.latencyAt(now);
      if (la > 0 && lb > 0) {
        const ratio = Math.max(LATENCY_FLOOR_MS, la) / Math.max(LATENCY_FLOOR_MS, lb);
        if (ratio > SLOWER_LATENCY_RATIO) fa = ratio;
        else if (ratio * SLOWER_LATENCY_RATIO < 1) fb = 1 / ratio;
      }
    }
    // Failures always keep the other from taking the best's place (a backend failing fast
    // empties its queue, which must not attract calls), but count against the best only while
    // the other has room for its calls.
    // The other wins only if it would still carry less than the best with this call added (one
    // call per its share): a move that cannot reverse the imbalance it corrects. A fixed margin
    // instead favours small shares, whose score climbs fastest per call: with a few calls in
    // flight and no queue anywhere, a 1:2:3 fleet's light backend got up to twice its share.
    const sa = a.score(this.shares[other], now, fa, true) + 1 / this.shares[other];
    const sb = b.score(this.shares[best], now, fb, a.hasRoom(this.targetUtilization));
    return sa <= sb;
  };
  private readonly drops: DropAccumulator | null;
  private readonly dropped: PickResult | null;
  private readonly onDrop: (() => void) | null;
  private readonly targetUtilization: number;
  private readonly candidates: number;

  constructor(
    targets: readonly PickTarget[],
    drop: DropConfig | null = null,
    private readonly random: () => number = Math.random,
    private readonly clock: () => number = () => performance.now(),
    tuning: PickTuning = {},
  ) {
    this.targetUtilization = tuning.targetUtilization ?? DEFAULT_TARGET_UTILIZATION;
    this.candidates = tuning.candidates ?? DEFAULT_PICK_CANDIDATES;
    this.scheduler = new EdfScheduler(targets.map((t) => t.weight), random);
    this.results = targets.map((t) => t.result);
    this.tokens = targets.map((t) => t.token);
    this.loads = targets.map((t) => t.load);
    const mean = targets.reduce((sum, t) => sum + t.weight, 0) / targets.length;
    this.shares = Float64Array.from(targets, (t) => t.weight / mean);
    this.drops = drop && drop.ppm > 0 ? new DropAccumulator(drop.ppm) : null;
    this.dropped = this.drops ? dropResult(this.drops.ppm) : null;
    this.onDrop = drop ? drop.onDrop : null;
  }

  pick(pickArgs: PickArgs): PickResult {
    if (this.drops !== null && this.drops.shouldDrop()) {
      this.onDrop!();
      return this.dropped!;
    }
    const i = this.scheduler.nextOfMany(this.lessLoaded, this.candidates, this.random);
    const token = this.tokens[i];
    // grpc-js sends the metadata it hands to the picker (a per-call clone), so this is how a
    // policy adds per-backend metadata. Metadata.set stores a one-element array: the only
    // allocation on this path, and only when the channel sends tokens (lookaside.send_lb_token).
    if (token.length > 0) pickArgs.metadata.set(LB_TOKEN_METADATA_KEY, token);
    return this.results[i];
  }
}
