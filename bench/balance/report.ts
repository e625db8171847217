// The printed tables, the target lines, and results/<name>.{json,txt,svg}.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { CellResult, Row, TargetResult } from './analyze.js';
import { renderChart } from './chart.js';
import type { BenchConfig } from './config.js';
import { here, repoRoot } from './wire.js';

/** The commit measured, and files of the service and SDK changed on top of it (the run uses the work tree). */
export function sourceState(): { commit: string; uncommitted: string[] } {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' });
    const uncommitted = git('status', '--porcelain', '--', 'src', 'client-sdk/src').split('\n').filter(Boolean).map((l) => l.slice(3));
    return { commit: git('rev-parse', 'HEAD').trim(), uncommitted };
  } catch {
    return { commit: 'unknown', uncommitted: [] };
  }
}

const lines: string[] = [];
const out = (line = '') => {
  lines.push(line);
  console.log(line);
};

const f0 = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : '-');
const pct = (v: number, digits = 1) => `${(v * 100).toFixed(digits)}`;
const pad = (s: string, n: number) => s.padStart(n);
const shares = (m: Record<string, number> | null) =>
  m ? Object.values(m).map((v) => Math.round(v * 100).toString()).join('/') : '-';

/** Generator lag (p99) above this fraction of the mean service time flags a row as CPU-noisy. */
const NOISY_LAG_FRACTION = 0.25;

const HEADER =
  'balancer     calls   p50   p99 [95% CI]     p99.9  err%   dl%  ' +
  'share % b0/b1/..     util % b0/b1/..      phase: p99  err%   cpu% avg/max  lag ms p99/max';

function rowLine(r: Row, cell: CellResult): string {
  const a = r.all;
  const ci = `[${f0(a.p99Interval[0])}-${f0(a.p99Interval[1])}]`;
  const phase = r.phase ? `${pad(f0(r.phase.p99), 10)} ${pad(pct(r.phase.errorRate, 2), 5)}` : `${pad('-', 10)} ${pad('-', 5)}`;
  return [
    r.balancer.padEnd(11),
    pad(String(a.n), 6),
    pad(f0(a.p50), 5),
    pad(f0(a.p99), 5),
    ci.padEnd(11),
    pad(f0(a.p999), 6),
    pad(pct(a.errorRate, 2), 5),
    pad(pct(a.deadlineRate, 2), 5),
    ' ' + shares(r.share).padEnd(19),
    shares(r.util).padEnd(19),
    phase,
    pad(`${f0(cell.cpu.machineAvg)}/${f0(cell.cpu.machineMax)}`, 9),
    pad(`${r.lag.p99.toFixed(1)}/${f0(r.lag.max)}`, 14),
  ].join(' ');
}

export function printHeader(text: string): void {
  out(text);
}

export function printCell(cell: CellResult): void {
  out();
  out(
    `(${cell.scenario}) ${cell.title} | ${Math.round(cell.load * 100)}% load = ${cell.rate.toFixed(1)} calls/s | ` +
      `measured ${cell.warmupMs / 1000}-${cell.durationMs / 1000} s` +
      (cell.phase ? ` | phase "${cell.phase.name}" ${cell.phase.fromMs / 1000}-${cell.phase.toMs / 1000} s at ${Math.round(cell.phaseLoad * 100)}% of capacity` : '') +
      ` | machine CPU ${f0(cell.cpu.machineAvg)}% (this bench ${f0(cell.cpu.benchAvg)}%, the rest other work)` +
      ` | backend timers late by ${pct(cell.timerOverrun)}% of service time`,
  );
  const laggy = cell.rows.filter((r) => r.lag.p99 > NOISY_LAG_FRACTION * cell.serviceMs).map((r) => r.balancer);
  if (laggy.length) {
    out(`  ! generator lag p99 above ${NOISY_LAG_FRACTION * 100}% of the service time for ${laggy.join(', ')}: the machine was busy, read those rows with care`);
  }
  out(HEADER);
  for (const r of cell.rows) {
    let line = rowLine(r, cell);
    const t = r.timings;
    const notes: string[] = [];
    if (t.fallMs !== undefined) notes.push(t.fallMs === null ? 'share never falls' : `share falls after ${t.fallMs} ms, returns ${t.returnMs === null ? 'never' : `after ${t.returnMs} ms`}`);
    if (t.ejectMs !== undefined) notes.push(`ejected ${t.ejectMs === null ? 'never' : `${t.ejectMs} ms`}`);
    if (t.fairMs !== undefined) notes.push(`fair share ${t.fairMs === null ? 'never' : `${t.fairMs} ms`}`);
    if (r.connections) notes.push(`connections to ${r.connections.map((b) => `b${b}`).join(',')}`);
    if (notes.length) line += `  ${notes.join('; ')}`;
    out(line);
  }
}

export function printTargets(targets: TargetResult[]): void {
  out();
  out('Targets (issue 5), each balancer against the same bar:');
  for (const t of targets) {
    out(`  ${t.text}${t.infeasible ? '  [phase over fleet capacity: infeasible for any balancer]' : ''}`);
    for (const [name, r] of Object.entries(t.results)) {
      out(`    ${r.pass ? 'PASS' : 'FAIL'}  ${name.padEnd(11)} ${r.detail}${name === 'lookaside' ? '   <==' : ''}`);
    }
  }
}

export function writeResults(config: BenchConfig, cells: CellResult[], targets: TargetResult[], seconds: number): string[] {
  const dir = join(here, 'results');
  mkdirSync(dir, { recursive: true });
  const base = join(dir, config.outName);
  const json = {
    generatedAt: new Date().toISOString(),
    seconds: Math.round(seconds),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg(), node: process.version },
    source: sourceState(),
    config,
    notes: [
      'Latency percentiles count every call at the latency its caller saw; a call that hit the deadline counts as the deadline.',
      'share = calls that reached each backend (counted by the backend); util = its workers\u2019 busy fraction.',
      'cpu = whole-machine CPU busy % of all cores over the cell (sampled every 500 ms); other work shares this machine.',
      'lag = how late the generators fired Poisson arrivals (their own scheduling delay).',
    ],
    cells,
    targets,
  };
  const text = JSON.stringify(json, (_k, v) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v), 1)
    // Arrays of numbers on one line each.
    .replace(/\[\s*((?:-?[\d.e+-]+|null)(?:,\s*(?:-?[\d.e+-]+|null))*)\s*\]/g, (_m, body: string) => `[${body.replace(/\s+/g, '')}]`);
  writeFileSync(`${base}.json`, `${text}\n`);
  writeFileSync(`${base}.txt`, `${lines.join('\n')}\n`);
  writeFileSync(`${base}.svg`, renderChart(cells, config));
  return [`${base}.json`, `${base}.txt`, `${base}.svg`];
}
