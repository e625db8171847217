// Numbers from the raw records: latency percentiles (with a confidence interval for p99, since
// a cell has a few thousand calls at most), error rates, per-backend shares and utilization,
// and time series.
import type { BackendSeries } from './backend.js';
import type { StreamRecords } from './generator.js';

export const DEADLINE_EXCEEDED = 4;

/** All calls of one balancer in one cell, from every generator, as plain arrays. */
export interface Calls {
  sentAt: number[];
  latencyMs: number[];
  code: number[];
  backend: number[];
  lagMs: number[];
}

export function mergeRecords(parts: StreamRecords[]): Calls {
  const out: Calls = { sentAt: [], latencyMs: [], code: [], backend: [], lagMs: [] };
  for (const p of parts) {
    for (let i = 0; i < p.sentAt.length; i++) {
      out.sentAt.push(p.sentAt[i]);
      out.latencyMs.push(p.latencyMs[i]);
      out.code.push(p.code[i]);
      out.backend.push(p.backend[i]);
      out.lagMs.push(p.lagMs[i]);
    }
  }
  return out;
}

/** Nearest-rank percentile of a sorted array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** 95% interval of a percentile from the binomial spread of its rank (order statistics). */
export function percentileInterval(sorted: ArrayLike<number>, p: number): [number, number] {
  const n = sorted.length;
  if (n === 0) return [Number.NaN, Number.NaN];
  const q = p / 100;
  const spread = 1.96 * Math.sqrt(n * q * (1 - q));
  const at = (rank: number) => sorted[Math.min(n - 1, Math.max(0, Math.round(rank) - 1))];
  return [at(n * q - spread), at(n * q + spread + 1)];
}

export interface LatencySummary {
  n: number;
  p50: number;
  p99: number;
  p999: number;
  p99Interval: [number, number];
  /** Share of calls that did not return OK. */
  errorRate: number;
  /** Share of calls that hit the deadline. */
  deadlineRate: number;
  /** Calls that hit the deadline. */
  deadlines: number;
}

/**
 * Calls sent in [fromMs, toMs). Every call counts in the percentiles at the latency its caller
 * saw, errors included: a call that hit the deadline counts as the full deadline.
 */
export function summarize(calls: Calls, fromMs: number, toMs: number): LatencySummary {
  const lat: number[] = [];
  let errors = 0;
  let deadlines = 0;
  for (let i = 0; i < calls.sentAt.length; i++) {
    const t = calls.sentAt[i];
    if (t < fromMs || t >= toMs) continue;
    lat.push(calls.latencyMs[i]);
    if (calls.code[i] !== 0) errors++;
    if (calls.code[i] === DEADLINE_EXCEEDED) deadlines++;
  }
  lat.sort((a, b) => a - b);
  const n = lat.length;
  return {
    n,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    p999: percentile(lat, 99.9),
    p99Interval: percentileInterval(lat, 99),
    errorRate: n ? errors / n : 0,
    deadlineRate: n ? deadlines / n : 0,
    deadlines,
  };
}

export function lagSummary(calls: Calls, fromMs: number, toMs: number): { p50: number; p99: number; max: number } {
  const lag = calls.lagMs.filter((_, i) => calls.sentAt[i] >= fromMs && calls.sentAt[i] < toMs).sort((a, b) => a - b);
  return { p50: percentile(lag, 50), p99: percentile(lag, 99), max: lag.length ? lag[lag.length - 1] : Number.NaN };
}

const sumRange = (xs: number[] | undefined, from: number, to: number) => {
  let s = 0;
  for (let i = from; i < to; i++) s += xs?.[i] ?? 0;
  return s;
};

/** Each backend's share of the calls that reached the fleet, and its workers' busy fraction, over bins [from, to). */
export function backendLoad(
  series: Record<string, BackendSeries>,
  workers: number,
  binMs: number,
  fromBin: number,
  toBin: number,
): { share: Record<string, number>; util: Record<string, number> } {
  const ids = Object.keys(series).sort((a, b) => Number(a) - Number(b));
  const arrivals = ids.map((id) => sumRange(series[id].arrivals, fromBin, toBin));
  const total = arrivals.reduce((a, b) => a + b, 0);
  const share: Record<string, number> = {};
  const util: Record<string, number> = {};
  ids.forEach((id, k) => {
    share[`b${id}`] = total ? arrivals[k] / total : 0;
    util[`b${id}`] = sumRange(series[id].busyMs, fromBin, toBin) / (workers * binMs * (toBin - fromBin));
  });
  return { share, util };
}

/**
 * Share of arrivals that went to `ids`, per bin, each over a trailing window of `windowBins`
 * bins (a bin's value covers the window ending with it).
 */
export function shareSeries(series: Record<string, BackendSeries>, ids: number[], bins: number, windowBins: number): number[] {
  const all = Object.values(series);
  const out: number[] = [];
  for (let b = 0; b < bins; b++) {
    const from = Math.max(0, b - windowBins + 1);
    let mine = 0;
    let total = 0;
    for (const s of all) total += sumRange(s.arrivals, from, b + 1);
    for (const id of ids) mine += sumRange(series[id]?.arrivals, from, b + 1);
    out.push(total ? mine / total : Number.NaN);
  }
  return out;
}

/** Per bin of `binMs`: p50, p99 and error rate of the calls sent in it. */
export function latencySeries(calls: Calls, binMs: number, bins: number): { p50: number[]; p99: number[]; errorRate: number[] } {
  const lat: number[][] = Array.from({ length: bins }, () => []);
  const err = new Array<number>(bins).fill(0);
  for (let i = 0; i < calls.sentAt.length; i++) {
    const b = Math.floor(calls.sentAt[i] / binMs);
    if (b < 0 || b >= bins) continue;
    lat[b].push(calls.latencyMs[i]);
    if (calls.code[i] !== 0) err[b]++;
  }
  const p50: number[] = [];
  const p99: number[] = [];
  const errorRate: number[] = [];
  lat.forEach((xs, b) => {
    xs.sort((x, y) => x - y);
    p50.push(percentile(xs, 50));
    p99.push(percentile(xs, 99));
    errorRate.push(xs.length ? err[b] / xs.length : 0);
  });
  return { p50, p99, errorRate };
}

/**
 * Time (ms from `fromMs`) of the first bin at or after `fromMs`, before `toMs`, whose value
 * passes `test`; null when none does.
 */
export function firstTime(values: number[], binMs: number, fromMs: number, toMs: number, test: (v: number) => boolean): number | null {
  for (let b = Math.floor(fromMs / binMs); b * binMs < toMs && b < values.length; b++) {
    if (test(values[b])) return (b + 1) * binMs - fromMs;
  }
  return null;
}
