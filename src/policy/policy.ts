import type { PolicyOptions } from '../config/config.js';
import type { BackendRecord, BackendState, ServiceSnapshot, TokenCallStats } from '../store/types.js';
import { effectiveBackends } from './membership.js';

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

/** What every replica tells every client of a service; a pure function of the snapshot. */
export interface ServiceAssignment {
  service: string;
  version: number;
  /** Only backends that may get calls, sorted by id. Empty: the client should fall back. */
  backends: WeightedBackend[];
  /** Calls to drop, parts per million (load shedding). */
  dropPpm: number;
}

/** Client stats below this many finished calls in a window say too little about errors. */
export const MIN_CLIENT_CALLS_FOR_ERROR_RATE = 20;

/**
 * The error rate that lowers a backend's weight: the worse of what it reports (eps / rps)
 * and what its clients saw fail over the last stats window, at most 1.
 */
export function errorRate(backend: BackendRecord, clientStats: TokenCallStats | undefined): number {
  const load = backend.load;
  const reported = load && load.rpsFractional > 0 ? load.eps / load.rpsFractional : 0;
  const observed =
    clientStats && clientStats.finished >= MIN_CLIENT_CALLS_FOR_ERROR_RATE ? clientStats.failed / clientStats.finished : 0;
  return Math.min(1, Math.max(reported, observed));
}

/**
 * A backend's raw capacity estimate: rps / (utilization + errorRate * penalty), where
 * utilization is application_utilization when the backend sets it, else cpu_utilization.
 * A backend serving `rps` at utilization `u` could serve about rps/u at full use; errors
 * count as extra utilization so a failing backend gets less. Undefined until the backend
 * has reported both a rate and a utilization.
 */
export function rawWeight(backend: BackendRecord, clientStats: TokenCallStats | undefined, penalty: number): number | undefined {
  const load = backend.load;
  if (!load || !(load.rpsFractional > 0)) return undefined;
  const utilization = load.applicationUtilization > 0 ? load.applicationUtilization : load.cpuUtilization;
  if (!(utilization > 0)) return undefined;
  return load.rpsFractional / (utilization + errorRate(backend, clientStats) * penalty);
}

/**
 * Policy v1. Membership: see effectiveBackends (Kubernetes endpoints in cluster mode, reports
 * otherwise). Eligible: SERVING backends (not NOT_SERVING, not DRAINING). Weight: the raw
 * estimate above; backends without one yet get the mean of those that have one (all get
 * equal weights when none has); every weight is clamped to [minWeightRatio, maxWeightRatio]
 * times the mean so no backend starves or floods; then scaled to integers with the heaviest
 * at weightResolution and none below 1. Same snapshot, same result, on every replica.
 */
export function computeAssignment(snapshot: ServiceSnapshot, options: PolicyOptions): ServiceAssignment {
  const eligible = effectiveBackends(snapshot).filter((b) => b.state === 'SERVING');
  const raw = eligible.map((b) => rawWeight(b, snapshot.clientStats[b.token], options.errorUtilizationPenalty));
  const known = raw.filter((w): w is number => w !== undefined);
  const fill = known.length > 0 ? known.reduce((a, b) => a + b, 0) / known.length : 1;
  const filled = raw.map((w) => w ?? fill);
  const mean = filled.reduce((a, b) => a + b, 0) / (filled.length || 1);
  const clamped = filled.map((w) => Math.min(mean * options.maxWeightRatio, Math.max(mean * options.minWeightRatio, w)));
  const heaviest = Math.max(0, ...clamped);
  const backends = eligible.map((b, i) => ({
    id: b.id,
    host: b.host,
    port: b.port,
    zone: b.zone,
    labels: b.labels,
    state: b.state,
    token: b.token,
    weight: Math.max(1, Math.round((clamped[i] / heaviest) * options.weightResolution)),
  }));
  return { service: snapshot.service, version: snapshot.version, backends, dropPpm: 0 };
}

/** True when two assignments would tell clients the same thing (versions aside). */
export function sameAssignment(a: ServiceAssignment, b: ServiceAssignment): boolean {
  if (a.dropPpm !== b.dropPpm || a.backends.length !== b.backends.length) return false;
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
