// From one cell's raw data (scenario x load, every balancer) to the table rows, the time
// series of the charts, and the figures the issue's targets are checked against.
import type { BackendSeries } from './backend.js';
import type { BalancerName } from './config.js';
import type { Scenario } from './scenarios.js';
import { backendLoad, firstTime, lagSummary, latencySeries, shareSeries, summarize, type Calls, type LatencySummary } from './stats.js';

export interface CellData {
  scenario: Scenario;
  load: number;
  /** Offered calls/s (the whole fleet). */
  rate: number;
  /** Calls/s of one full-speed backend. */
  capacity: number;
  workers: number;
  serviceMs: number;
  binMs: number;
  /** Machine CPU busy % over the cell, sampled every 500 ms; and this benchmark's processes' share. */
  cpu: { machineAvg: number; machineMax: number; benchAvg: number };
  balancers: Array<{ name: BalancerName; calls: Calls; backends: Record<string, BackendSeries>; connections?: number[] }>;
}

export interface Row {
  balancer: BalancerName;
  /** After the warm-up, to the end. */
  all: LatencySummary;
  share: Record<string, number>;
  util: Record<string, number>;
  lag: { p50: number; p99: number; max: number };
  /** The scenario's phase (slow, failing, after the scale-up), when it has one. */
  phase: LatencySummary | null;
  phaseShare: Record<string, number> | null;
  /** connection: which backend each client process was connected to. */
  connections?: number[];
  /** Focus backend timings, ms (null = never within the scenario). */
  timings: { fallMs?: number | null; returnMs?: number | null; fairMs?: number | null; ejectMs?: number | null; baseShare?: number };
}

export interface Series {
  /** Latency bins, ms. */
  binMs: number;
  p50: number[];
  p99: number[];
  errorRate: number[];
  /** Share of the focus backends per share bin (trailing window). */
  focusShare: number[];
  shareBinMs: number;
}

export interface CellResult {
  scenario: string;
  title: string;
  load: number;
  rate: number;
  serviceMs: number;
  warmupMs: number;
  durationMs: number;
  phase: Scenario['phase'];
  /** Offered load over the fleet's capacity during the phase (> 1: no balancer can keep up). */
  phaseLoad: number;
  focus: number[];
  cpu: CellData['cpu'];
  /** What the focus backends would get with capacity-proportional shares: [fromMs, share] steps. */
  capacityShare: Array<[number, number]>;
  /** Service time as served over service time as drawn, minus 1: how late the backends' timers fired. */
  timerOverrun: number;
  rows: Row[];
  series: Record<string, Series>;
}

/** Trailing windows for the share-over-time figures. */
const SHARE_WINDOW_MS = 500;
const FAIR_WINDOW_MS = 1000;
const LATENCY_BIN_MS = 1000;

export function analyzeCell(cell: CellData): CellResult {
  const s = cell.scenario;
  const bins = Math.ceil(s.durationMs / cell.binMs);
  const toBin = (ms: number) => Math.round(ms / cell.binMs);
  const rows: Row[] = [];
  const series: Record<string, Series> = {};
  for (const b of cell.balancers) {
    const load = backendLoad(b.backends, cell.workers, cell.binMs, toBin(s.warmupMs), toBin(s.durationMs));
    const row: Row = {
      balancer: b.name,
      all: summarize(b.calls, s.warmupMs, s.durationMs),
      share: load.share,
      util: load.util,
      lag: lagSummary(b.calls, s.warmupMs, s.durationMs),
      phase: s.phase ? summarize(b.calls, s.phase.fromMs, s.phase.toMs) : null,
      phaseShare: s.phase ? backendLoad(b.backends, cell.workers, cell.binMs, toBin(s.phase.fromMs), toBin(s.phase.toMs)).share : null,
      connections: b.connections,
      timings: {},
    };
    const shareBins = Math.round(SHARE_WINDOW_MS / cell.binMs);
    const focusShare = shareSeries(b.backends, s.focus, bins, shareBins);
    if (s.phase && (s.key === 'b' || s.key === 'd')) {
      const base = backendLoad(b.backends, cell.workers, cell.binMs, toBin(s.warmupMs), toBin(s.phase.fromMs)).share[`b${s.focus[0]}`];
      row.timings.baseShare = base;
      if (s.key === 'b') {
        // Share falls: below half of what it had before the slowdown; returns: back to 80% of it.
        row.timings.fallMs = firstTime(focusShare, cell.binMs, s.phase.fromMs, s.phase.toMs, (v) => v < 0.5 * base);
        row.timings.returnMs = firstTime(focusShare, cell.binMs, s.phase.toMs, s.durationMs, (v) => v >= 0.8 * base);
      } else {
        // Ejected: at most a tenth of a fair share (1/N) of the calls.
        const fair = 1 / s.backends.length;
        row.timings.ejectMs = firstTime(focusShare, cell.binMs, s.phase.fromMs, s.phase.toMs, (v) => v <= 0.1 * fair);
      }
    }
    if (s.phase && s.key === 'c') {
      // Fair share: every new backend at 80% of 1/N or more, over a trailing second.
      const fair = 1 / s.backends.length;
      const times = s.focus.map((id) =>
        firstTime(shareSeries(b.backends, [id], bins, Math.round(FAIR_WINDOW_MS / cell.binMs)), cell.binMs, s.phase!.fromMs, s.phase!.toMs, (v) => v >= 0.8 * fair),
      );
      row.timings.fairMs = times.some((t) => t === null) ? null : Math.max(...(times as number[]));
    }
    rows.push(row);
    const lat = latencySeries(b.calls, LATENCY_BIN_MS, Math.ceil(s.durationMs / LATENCY_BIN_MS));
    series[b.name] = { binMs: LATENCY_BIN_MS, ...lat, focusShare: focusShare.filter((_, i) => (i + 1) % shareBins === 0), shareBinMs: SHARE_WINDOW_MS };
  }
  let drawn = 0;
  let served = 0;
  for (const b of cell.balancers) {
    for (const series of Object.values(b.backends)) {
      drawn += series.drawnMs.reduce((a, v) => a + (v ?? 0), 0);
      served += series.servedMs.reduce((a, v) => a + (v ?? 0), 0);
    }
  }
  return {
    scenario: s.key,
    title: s.title,
    load: cell.load,
    rate: cell.rate,
    serviceMs: cell.serviceMs,
    warmupMs: s.warmupMs,
    durationMs: s.durationMs,
    phase: s.phase,
    phaseLoad: cell.rate / (s.phaseCapacityUnits * cell.capacity),
    focus: s.focus,
    cpu: cell.cpu,
    timerOverrun: drawn > 0 ? served / drawn - 1 : 0,
    capacityShare: capacityShareSteps(s),
    rows,
    series,
  };
}

/** Steps of the focus backends' capacity share, replaying the scenario's events. */
export function capacityShareSteps(s: Scenario): Array<[number, number]> {
  const speed = new Map(s.backends.map((b) => [b.id, b.startAtMs === undefined ? 1 / b.slowdown : 0]));
  const share = () => {
    let mine = 0;
    let total = 0;
    for (const [id, v] of speed) {
      total += v;
      if (s.focus.includes(id)) mine += v;
    }
    return total > 0 ? mine / total : 0;
  };
  const steps: Array<[number, number]> = [[0, share()]];
  for (const e of [...s.events].sort((a, b) => a.atMs - b.atMs)) {
    const spec = s.backends.find((b) => b.id === e.backend)!;
    if (e.start) speed.set(e.backend, 1 / spec.slowdown);
    if (e.set?.slowdown !== undefined) speed.set(e.backend, 1 / e.set.slowdown);
    steps.push([e.atMs, share()]);
  }
  return steps;
}

// ---- Targets (issue 5, "Targets"), checked for every balancer against the same bars ----

export interface TargetResult {
  id: string;
  text: string;
  load: number;
  /** The fleet cannot carry the offered load in this phase: no balancer can meet it. */
  infeasible: boolean;
  results: Record<string, { pass: boolean; detail: string }>;
}

const ms = (v: number | null | undefined) => (v === null || v === undefined ? 'never' : `${(v / 1000).toFixed(1)} s`);
const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

export function checkTargets(cells: CellResult[]): TargetResult[] {
  const out: TargetResult[] = [];
  for (const cell of cells) {
    const oracle = cell.rows.find((r) => r.balancer === 'oracle');
    const wrr = cell.rows.find((r) => r.balancer === 'wrr_orca');
    const load = Math.round(cell.load * 100);
    const infeasible = cell.phaseLoad > 1;
    const each = (id: string, text: string, check: (r: Row) => { pass: boolean; detail: string }) => {
      const results: TargetResult['results'] = {};
      for (const r of cell.rows) if (r.balancer !== 'oracle') results[r.balancer] = check(r);
      out.push({ id, text, load: cell.load, infeasible, results });
    };
    if (cell.scenario === 'a' && oracle) {
      const bound = load >= 90 ? 1.5 : 1.2;
      each(`a${load}`, `uneven fleet, ${load}% load: p99 <= ${bound}x oracle's${load < 90 ? ' and below wrr_orca' : ', no errors, no backend > 95% util while another < 80%'}`, (r) => {
        const ratio = r.all.p99 / oracle.all.p99;
        const utils = Object.values(r.util);
        const hot = Math.max(...utils) > 0.95 && Math.min(...utils) < 0.8;
        let pass = ratio <= bound;
        let detail = `p99 ${x(r.all.p99, oracle.all.p99)}`;
        if (load < 90 && wrr && r.balancer !== 'wrr_orca') {
          pass &&= r.all.p99 < wrr.all.p99;
          detail += `, vs wrr ${x(r.all.p99, wrr.all.p99)}`;
        }
        if (load >= 90) {
          pass &&= r.all.errorRate === 0 && !hot;
          detail += `, err ${pct(r.all.errorRate)}, util ${Math.round(Math.min(...utils) * 100)}-${Math.round(Math.max(...utils) * 100)}%`;
        }
        return { pass, detail };
      });
    }
    if (cell.scenario === 'b' && oracle?.phase) {
      each(`b${load}`, `slow backend, ${load}% load: slow-phase p99 <= 2x oracle's, no deadline errors, share falls within 1 s and returns`, (r) => {
        const p = r.phase!;
        const fell = r.timings.fallMs != null;
        const pass = p.p99 <= 2 * oracle.phase!.p99 && p.deadlines === 0 && fell && r.timings.fallMs! <= 1000 && r.timings.returnMs != null;
        const moves = fell ? `falls ${ms(r.timings.fallMs)}, returns ${ms(r.timings.returnMs)}` : 'share never falls';
        return { pass, detail: `p99 ${x(p.p99, oracle.phase!.p99)}, deadlines ${p.deadlines}, ${moves}` };
      });
    }
    if (cell.scenario === 'c') {
      each(`c${load}`, `scale-up, ${load}% load: new backends at fair share within 5 s`, (r) => ({
        pass: r.timings.fairMs != null && r.timings.fairMs <= 5000,
        detail: `fair share after ${ms(r.timings.fairMs)}`,
      }));
    }
    if ((cell.scenario === 'a' || cell.scenario === 'e') && load >= 90 && oracle) {
      each(`${cell.scenario}${load}-tail`, `${cell.scenario === 'a' ? 'uneven' : 'equal'} fleet, ${load}% load: p99 <= 1.3x oracle's (issue 11)`, (r) => ({
        pass: r.all.p99 <= 1.3 * oracle.all.p99,
        detail: `p99 ${x(r.all.p99, oracle.all.p99)}`,
      }));
    }
    if (cell.scenario === 'f' && cell.phase && oracle?.phase) {
      const rr = cell.rows.find((r) => r.balancer === 'round_robin');
      each(`f${load}`, `degraded fleet, ${load}% load: degraded-phase p99 <= 2x oracle's, errors no more than round_robin's`, (r) => {
        const p = r.phase!;
        const pass = p.p99 <= 2 * oracle.phase!.p99 && (!rr || p.errorRate <= rr.phase!.errorRate);
        return { pass, detail: `p99 ${x(p.p99, oracle.phase!.p99)}, errors ${pct(p.errorRate)}${rr ? ` (round_robin ${pct(rr.phase!.errorRate)})` : ''}` };
      });
    }
    if (cell.scenario === 'd' && cell.phase) {
      each(`d${load}`, `failing backend, ${load}% load: ejected within 2 s, callers' errors < 1%`, (r) => ({
        pass: r.timings.ejectMs != null && r.timings.ejectMs <= 2000 && r.phase!.errorRate < 0.01,
        detail: `ejected ${ms(r.timings.ejectMs)}, errors ${pct(r.phase!.errorRate)}`,
      }));
    }
  }
  return out;
}
