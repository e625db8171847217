import type { PolicyOptions } from '../config/config.js';
import type { BackendRecord, BackendState, EjectionRules, LoadSample, ServiceSnapshot, TokenCallStats } from '../store/types.js';
import { effectiveBackends } from './membership.js';
import { sameZoneWeights, zoneWeights } from './zones.js';

export interface WeightedBackend {
  id: string;
  host: string;
  port: number;
  zone: string;
  labels: Record<string, string>;
  state: BackendState;
  token: string;
  /** Integer share of calls, 1 to options.weightResolution. */
  weight: number;
}

/** A backend finishing its calls: no new ones, but xDS clients are told so rather than not told of it. */
export interface DrainingBackend {
  id: string;
  host: string;
  port: number;
  zone: string;
  token: string;
}

/** What every replica tells every client of a service; a pure function of the snapshot. */
export interface ServiceAssignment {
  service: string;
  version: number;
  /** Only backends that may get calls, sorted by id. Empty: the client should fall back. */
  backends: WeightedBackend[];
  /** Backends in the DRAINING state, sorted by id (EDS lists them as DRAINING). */
  draining: DrainingBackend[];
  /** Calls to drop, parts per million (load shedding). */
  dropPpm: number;
  /**
   * Weights for clients that name their zone, per zone, aligned with `backends` (0: not for
   * that zone's clients); see zoneWeights. A zone not listed uses the global weights.
   */
  zones: Record<string, number[]>;
}

/** Client stats below this many finished calls in a window say too little about errors. */
export const MIN_CLIENT_CALLS_FOR_ERROR_RATE = 20;

/** The utilization a report states: application_utilization when the backend sets it, else cpu. */
export function reportedUtilization(load: LoadSample): number {
  return load.applicationUtilization > 0 ? load.applicationUtilization : load.cpuUtilization;
}

/** The load figures the policy reads: the moving averages when there are any, else the latest sample. */
export function loadFigures(backend: BackendRecord): { utilization: number; rps: number; eps: number } | undefined {
  if (backend.smoothed) return backend.smoothed;
  const load = backend.load;
  if (!load) return undefined;
  return { utilization: reportedUtilization(load), rps: load.rpsFractional, eps: load.eps };
}

/**
 * The error rate that lowers a backend's weight: the worse of what it reports (eps / rps)
 * and what its clients saw fail over the last stats window, at most 1.
 */
export function errorRate(backend: BackendRecord, clientStats: TokenCallStats | undefined): number {
  const figures = loadFigures(backend);
  const reported = figures && figures.rps > 0 ? figures.eps / figures.rps : 0;
  const observed =
    clientStats && clientStats.finished >= MIN_CLIENT_CALLS_FOR_ERROR_RATE ? clientStats.failed / clientStats.finished : 0;
  return Math.min(1, Math.max(reported, observed));
}

/**
 * A backend's raw capacity estimate: rps / (utilization + errorRate * penalty), where
 * utilization is application_utilization when the backend sets it, else cpu_utilization.
 * A backend serving `rps` at utilization `u` could serve about rps/u at full use; errors
 * count as extra utilization so a failing backend gets less. An application utilization
 * above 1 (demand over capacity, e.g. with a queue) lowers the estimate further. Undefined
 * until the backend has reported both a rate and a utilization.
 */
export function rawWeight(backend: BackendRecord, clientStats: TokenCallStats | undefined, penalty: number): number | undefined {
  const figures = loadFigures(backend);
  if (!figures || !(figures.rps > 0) || !(figures.utilization > 0)) return undefined;
  return figures.rps / (figures.utilization + errorRate(backend, clientStats) * penalty);
}

/**
 * How far a backend's capacity estimate is to be trusted, 0 to 1: the calls/s behind it over
 * capacityMinRps. A trickle of calls says little of capacity (an idle backend's utilization is
 * its background CPU, or another process's on a shared host), and a low estimate would keep
 * from the backend the very calls that could correct it.
 */
function capacityEvidence(backend: BackendRecord, options: PolicyOptions): number {
  if (options.capacityMinRps <= 0) return 1;
  return Math.min(1, (loadFigures(backend)?.rps ?? 0) / options.capacityMinRps);
}

export function isEjected(backend: BackendRecord, nowMs: number): boolean {
  return backend.ejection !== null && backend.ejection.untilMs > nowMs;
}

/**
 * How far through its slow start a backend is, from slowStartInitialFactor to 1: it starts
 * when the backend is first listed, and again when an ejection ends.
 */
export function slowStartFactor(backend: BackendRecord, nowMs: number, options: PolicyOptions): number {
  if (options.slowStartMs <= 0) return 1;
  const since = Math.max(backend.registeredAtMs, backend.ejection?.untilMs ?? 0);
  const age = nowMs - since;
  if (since <= 0 || age >= options.slowStartMs) return 1;
  const initial = options.slowStartInitialFactor;
  return initial + (1 - initial) * (Math.max(0, age) / options.slowStartMs);
}

/**
 * The error penalty, as far as the others have room: the weights between `goodput` (each
 * backend's capacity for calls that succeed: shares that load every backend alike with work
 * that counts, so a backend failing fast gains nothing by it) and `penalized`, as close to
 * `penalized` as keeps every backend's projected utilization (the calls all of them serve now,
 * at its new share, over its `capacity` for calls of any outcome) at or under the target, or
 * under what it would run at on `goodput` shares if that is more. Avoiding a failing backend
 * pays only while the rest can take its calls: past that, they fail by deadline instead.
 * Undefined entries (no figures yet) stay undefined.
 */
export function withinHeadroom(
  backends: readonly BackendRecord[],
  capacity: readonly (number | undefined)[],
  goodput: readonly (number | undefined)[],
  penalized: readonly (number | undefined)[],
  target: number,
): (number | undefined)[] {
  const known: number[] = [];
  for (let i = 0; i < backends.length; i++) if (capacity[i] !== undefined && goodput[i] !== undefined && penalized[i] !== undefined) known.push(i);
  if (known.length === 0) return [...penalized];
  const rps = known.reduce((sum, i) => sum + loadFigures(backends[i])!.rps, 0);
  // A penalty milder than the failed share itself (penalty factor under 1) leaves the goodput share.
  const blend = (alpha: number) => known.map((i) => goodput[i]! + alpha * (Math.min(penalized[i]!, goodput[i]!) - goodput[i]!));
  const projected = (weights: number[]) => {
    const total = weights.reduce((a, b) => a + b, 0);
    return weights.map((w, k) => (rps * w) / total / capacity[known[k]]!);
  };
  const limit = projected(blend(0)).map((u) => Math.max(target, u));
  const fits = (alpha: number) => projected(blend(alpha)).every((u, k) => u <= limit[k] + 1e-9);
  let alpha = 1;
  if (!fits(1)) {
    // Each backend's projected utilization moves one way as alpha grows: bisect for the most penalty that fits.
    let lo = 0;
    let hi = 1;
    for (let step = 0; step < HEADROOM_SEARCH_STEPS; step++) {
      const mid = (lo + hi) / 2;
      if (fits(mid)) lo = mid;
      else hi = mid;
    }
    alpha = lo;
  }
  const weights = blend(alpha);
  const out: (number | undefined)[] = [...penalized];
  known.forEach((i, k) => (out[i] = weights[k]));
  return out;
}

/** Bisection steps of withinHeadroom: the penalty found is within 2^-steps of the most that fits. */
const HEADROOM_SEARCH_STEPS = 20;

/**
 * The policy. Membership: see effectiveBackends (Kubernetes endpoints in cluster mode,
 * reports otherwise). Eligible: SERVING backends not ejected. Weight:
 * 1. the raw estimate above, from the moving averages of the reports, once the backend is
 *    past its blackout and while its latest report is fresher than weightExpiryMs, with the
 *    error penalty bounded by the others' headroom (see withinHeadroom);
 * 2. an estimate resting on fewer than capacityMinRps calls/s counts in proportion, the
 *    fleet's mean (each estimate counted by its share of that evidence) making up the rest,
 *    and backends without one get that mean (all equal when none has one);
 * 3. clamped to [minWeightRatio, maxWeightRatio] times the mean, so none starves or floods;
 * 4. times the slow-start factor, so a new or readmitted backend ramps up to its share;
 * 5. scaled to integers, the heaviest at weightResolution, none below 1.
 * Drops: only when dropUtilization is set and the mean utilization of the eligible backends
 * is above it: the excess share, at most maxDropPpm.
 * Same snapshot (clock included), same result, on every replica.
 */
export function computeAssignment(snapshot: ServiceSnapshot, options: PolicyOptions): ServiceAssignment {
  const now = snapshot.nowMs;
  const members = effectiveBackends(snapshot);
  const eligible = members.filter((b) => b.state === 'SERVING' && !isEjected(b, now));
  const draining = members
    .filter((b) => b.state === 'DRAINING')
    .map(({ id, host, port, zone, token }) => ({ id, host, port, zone, token }));
  const counted = eligible.map((b) => now - b.registeredAtMs >= options.blackoutMs && now - b.lastReportMs <= options.weightExpiryMs);
  const capacity = eligible.map((b, i) => (counted[i] ? rawWeight(b, snapshot.clientStats[b.token], 0) : undefined));
  const goodput = capacity.map((c, i) => (c === undefined ? undefined : c * (1 - errorRate(eligible[i], snapshot.clientStats[eligible[i].token]))));
  const penalized = eligible.map((b, i) =>
    counted[i] ? rawWeight(b, snapshot.clientStats[b.token], options.errorUtilizationPenalty) : undefined,
  );
  const raw = withinHeadroom(eligible, capacity, goodput, penalized, options.targetUtilization);
  const evidence = raw.map((w, i) => (w === undefined ? 0 : capacityEvidence(eligible[i], options)));
  const sureness = evidence.reduce((a, b) => a + b, 0);
  const fill = sureness > 0 ? raw.reduce((sum: number, w, i) => sum + (w ?? 0) * evidence[i], 0) / sureness : 1;
  const filled = raw.map((w, i) => (w === undefined ? fill : evidence[i] * w + (1 - evidence[i]) * fill));
  const mean = filled.reduce((a, b) => a + b, 0) / (filled.length || 1);
  const weighted = filled.map(
    (w, i) =>
      Math.min(mean * options.maxWeightRatio, Math.max(mean * options.minWeightRatio, w)) *
      slowStartFactor(eligible[i], now, options),
  );
  const heaviest = Math.max(0, ...weighted);
  const backends = eligible.map((b, i) => ({
    id: b.id,
    host: b.host,
    port: b.port,
    zone: b.zone,
    labels: b.labels,
    state: b.state,
    token: b.token,
    weight: Math.max(1, Math.round((weighted[i] / heaviest) * options.weightResolution)),
  }));
  const zones = options.zoneAware
    ? zoneWeights(backends, snapshot.clientStats, fleetLoad(eligible, capacity), options.targetUtilization, options.weightResolution)
    : {};
  return { service: snapshot.service, version: snapshot.version, backends, draining, dropPpm: dropPpm(eligible, now, options), zones };
}

/** Calls served over calls the backends with figures could serve at full use; undefined without figures. */
function fleetLoad(eligible: BackendRecord[], capacity: readonly (number | undefined)[]): number | undefined {
  let rps = 0;
  let full = 0;
  eligible.forEach((b, i) => {
    if (capacity[i] === undefined) return;
    rps += loadFigures(b)!.rps;
    full += capacity[i]!;
  });
  return full > 0 ? rps / full : undefined;
}

function dropPpm(eligible: BackendRecord[], nowMs: number, options: PolicyOptions): number {
  if (options.dropUtilization <= 0 || eligible.length === 0) return 0;
  const utilizations = eligible
    .filter((b) => nowMs - b.lastReportMs <= options.weightExpiryMs)
    .map((b) => loadFigures(b)?.utilization)
    .filter((u): u is number => u !== undefined);
  // Shed only on evidence from every eligible backend: one silent backend may have room.
  if (utilizations.length < eligible.length) return 0;
  const mean = utilizations.reduce((a, b) => a + b, 0) / utilizations.length;
  if (mean <= options.dropUtilization) return 0;
  return Math.min(options.maxDropPpm, Math.round((1 - options.dropUtilization / mean) * 1_000_000));
}

/**
 * The error rate ejection judges: the worse of the backend's newest reports (back until they
 * hold ejectionMinCalls calls, see ReportWindow) and what its clients saw in the last stats
 * window, each on the terms of judgedErrorRate. A backend that starts failing is judged on its
 * first reports, not after a moving average catches up.
 */
export function ejectionErrorRate(backend: BackendRecord, clientStats: TokenCallStats | undefined, options: PolicyOptions): number {
  const reported = backend.recent ? judgedErrorRate(backend.recent.calls, backend.recent.failed, options) : 0;
  const observed = clientStats ? judgedErrorRate(clientStats.finished, clientStats.failed, options) : 0;
  return Math.max(reported, observed);
}

/**
 * failed / calls, or 0 when that says too little: fewer than ejectionMinCalls calls, or fewer
 * than ejectionMinFailures failures (one failure in five calls is a 20 % rate, and a healthy
 * backend with 1 % errors shows that every few hundred calls).
 */
export function judgedErrorRate(calls: number, failed: number, options: PolicyOptions): number {
  if (calls < options.ejectionMinCalls || failed < options.ejectionMinFailures) return 0;
  return Math.min(1, failed / calls);
}

/**
 * The mean utilization the backends not in `out` would run at if they took over the calls of
 * those in `out` (each keeps its utilization per call), from rps and utilization over each
 * one's report window (see ReportWindow), else its moving averages. Undefined without the
 * reports to say.
 */
export function utilizationWithout(backends: BackendRecord[], out: ReadonlySet<string>): number | undefined {
  let allRps = 0;
  let restRps = 0;
  let restUtilization = 0;
  let rest = 0;
  for (const b of backends) {
    const figures = b.recent && b.recent.rps > 0 ? b.recent : loadFigures(b);
    if (!figures) return undefined;
    allRps += figures.rps;
    if (out.has(b.id)) continue;
    restRps += figures.rps;
    restUtilization += figures.utilization;
    rest += 1;
  }
  if (rest === 0 || restRps <= 0) return undefined;
  return (restUtilization / rest) * (allRps / restRps);
}

/**
 * Outlier ejection: SERVING, not-ejected backends with a fresh report whose error rate (see
 * ejectionErrorRate) is at least ejectionErrorRate and at least twice the fleet's median (so a
 * failure shared by every backend ejects none), worst first, no more than maxEjected() out at
 * once, and none that would push the others past targetUtilization (an ejection that
 * overloads the rest fails more calls than it saves: the error penalty on the weight still
 * lowers the failing backend's share). The store applies each ejection once, whichever replica
 * proposes it.
 */
export function proposeEjections(snapshot: ServiceSnapshot, options: PolicyOptions): string[] {
  if (options.ejectionErrorRate <= 0) return [];
  const now = snapshot.nowMs;
  const serving = servingBackends(snapshot);
  const room = maxEjected(serving.length, options) - serving.filter((b) => isEjected(b, now)).length;
  if (room <= 0) return [];
  const judged = serving
    .filter((b) => !isEjected(b, now) && now - b.lastReportMs <= options.weightExpiryMs)
    .map((b) => ({ b, rate: ejectionErrorRate(b, snapshot.clientStats[b.token], options) }));
  const rates = judged.map((x) => x.rate).sort((a, b) => a - b);
  const median = rates.length ? rates[Math.floor((rates.length - 1) / 2)] : 0;
  const candidates = judged
    .filter((x) => x.rate >= options.ejectionErrorRate && x.rate >= 2 * median)
    .sort((a, c) => c.rate - a.rate || (a.b.id < c.b.id ? -1 : 1));
  const inService = serving.filter((b) => !isEjected(b, now) && now - b.lastReportMs <= options.weightExpiryMs);
  const ejected = new Set<string>();
  for (const { b } of candidates) {
    if (ejected.size >= room) break;
    ejected.add(b.id);
    const projected = utilizationWithout(inService, ejected);
    if (projected !== undefined && projected > options.targetUtilization) ejected.delete(b.id);
  }
  return [...ejected];
}

function servingBackends(snapshot: ServiceSnapshot): BackendRecord[] {
  return effectiveBackends(snapshot).filter((b) => b.state === 'SERVING');
}

/** What the store enforces when it applies the ejections proposed for this snapshot. */
export function ejectionRules(snapshot: ServiceSnapshot, options: PolicyOptions): EjectionRules {
  return {
    baseMs: options.ejectionBaseMs,
    maxMs: options.ejectionMaxMs,
    resetAfterMs: options.ejectionResetMs,
    maxEjected: maxEjected(servingBackends(snapshot).length, options),
  };
}

/** How many of `serving` backends may be ejected at once: the fraction, but one of two or more. */
export function maxEjected(serving: number, options: PolicyOptions): number {
  if (serving < 2 || options.maxEjectedFraction <= 0) return 0;
  return Math.min(serving - 1, Math.max(1, Math.floor(serving * options.maxEjectedFraction)));
}

/** True when two assignments would tell clients the same thing (versions aside). */
export function sameAssignment(a: ServiceAssignment, b: ServiceAssignment): boolean {
  if (a.dropPpm !== b.dropPpm || a.backends.length !== b.backends.length || a.draining.length !== b.draining.length) return false;
  for (let i = 0; i < a.draining.length; i++) if (a.draining[i].id !== b.draining[i].id) return false;
  if (!sameZoneWeights(a.zones, b.zones)) return false;
  for (let i = 0; i < a.backends.length; i++) {
    const x = a.backends[i];
    const y = b.backends[i];
    if (x.id !== y.id || x.weight !== y.weight || x.zone !== y.zone || x.token !== y.token) return false;
    if (!sameLabels(x.labels, y.labels)) return false;
  }
  return true;
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => a[k] === b[k]);
}
