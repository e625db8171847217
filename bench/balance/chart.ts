// A hand-written SVG: for every scenario x load, p99 latency per second (log scale) and the
// focus backend's share of calls over time, one line per balancer. Warm-up greyed, the
// scenario's phase shaded.
import type { CellResult } from './analyze.js';
import type { BenchConfig } from './config.js';

const COLORS: Record<string, string> = {
  connection: '#999999',
  round_robin: '#e69f00',
  wrr_orca: '#0072b2',
  lookaside: '#d6004c',
  oracle: '#000000',
};
const PANEL_W = 470;
const PANEL_H = 160;
const MARGIN = { left: 56, right: 16, top: 34, bottom: 30 };
const CELL_H = PANEL_H + MARGIN.top + MARGIN.bottom;
const LAT_TICKS = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function polyline(points: Array<[number, number] | null>, color: string, width: number, dash = ''): string {
  const runs: string[] = [];
  let current: string[] = [];
  for (const p of points) {
    if (p === null) {
      if (current.length) runs.push(current.join(' '));
      current = [];
    } else current.push(`${p[0].toFixed(1)},${p[1].toFixed(1)}`);
  }
  if (current.length) runs.push(current.join(' '));
  return runs
    .map((r) => `<polyline fill="none" stroke="${color}" stroke-width="${width}"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${r}"/>`)
    .join('');
}

function panel(cell: CellResult, x0: number, y0: number, kind: 'latency' | 'share', deadlineMs: number, latMin: number): string {
  const w = PANEL_W;
  const h = PANEL_H;
  const dur = cell.durationMs;
  const sx = (ms: number) => x0 + (ms / dur) * w;
  const latMax = deadlineMs * 1.5;
  const sy =
    kind === 'latency'
      ? (v: number) => y0 + h * (1 - (Math.log(Math.max(v, latMin)) - Math.log(latMin)) / (Math.log(latMax) - Math.log(latMin)))
      : (v: number) => y0 + h * (1 - Math.min(1, v));
  const parts: string[] = [];
  parts.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="#fff" stroke="#ccc"/>`);
  parts.push(`<rect x="${x0}" y="${y0}" width="${sx(cell.warmupMs) - x0}" height="${h}" fill="#eee"/>`);
  if (cell.phase) {
    parts.push(`<rect x="${sx(cell.phase.fromMs)}" y="${y0}" width="${sx(cell.phase.toMs) - sx(cell.phase.fromMs)}" height="${h}" fill="#fff3c4"/>`);
  }
  // Axes: seconds along x; ms (log) or % up y.
  for (let s = 0; s * 1000 <= dur; s += 2) {
    parts.push(`<line x1="${sx(s * 1000)}" y1="${y0 + h}" x2="${sx(s * 1000)}" y2="${y0 + h + 4}" stroke="#888"/>`);
    parts.push(`<text x="${sx(s * 1000)}" y="${y0 + h + 15}" font-size="10" text-anchor="middle">${s}</text>`);
  }
  const ticks = kind === 'latency' ? LAT_TICKS.filter((v) => v >= latMin && v <= latMax) : [0, 0.25, 0.5, 0.75, 1];
  for (const v of ticks) {
    parts.push(`<line x1="${x0}" y1="${sy(v)}" x2="${x0 + w}" y2="${sy(v)}" stroke="#eee" stroke-width="0.5"/>`);
    parts.push(`<text x="${x0 - 4}" y="${sy(v) + 3}" font-size="10" text-anchor="end">${kind === 'latency' ? v : `${v * 100}%`}</text>`);
  }
  if (kind === 'latency') {
    parts.push(`<line x1="${x0}" y1="${sy(deadlineMs)}" x2="${x0 + w}" y2="${sy(deadlineMs)}" stroke="#c00" stroke-dasharray="2,3"/>`);
  } else {
    // What the focus backends would get with capacity-proportional shares.
    const steps = cell.capacityShare;
    const points: Array<[number, number]> = [];
    steps.forEach(([from, v], i) => {
      const to = i + 1 < steps.length ? steps[i + 1][0] : dur;
      points.push([sx(from), sy(v)], [sx(to), sy(v)]);
    });
    parts.push(polyline(points, '#0a0', 1.2, '2,3'));
  }
  for (const [name, s] of Object.entries(cell.series)) {
    const color = COLORS[name] ?? '#555';
    const width = name === 'lookaside' ? 2.2 : 1.3;
    const dash = name === 'oracle' ? '4,2' : '';
    const points =
      kind === 'latency'
        ? s.p99.map((v, i) => (Number.isFinite(v) ? ([sx((i + 0.5) * s.binMs), sy(v)] as [number, number]) : null))
        : s.focusShare.map((v, i) => (Number.isFinite(v) ? ([sx((i + 1) * s.shareBinMs), sy(v)] as [number, number]) : null));
    parts.push(polyline(points, color, width, dash));
  }
  const focus = cell.focus.map((b) => `b${b}`).join('+');
  const label = kind === 'latency' ? 'p99 latency of the calls sent in each second (ms, log) over time (s)' : `share of calls reaching ${focus} (trailing 0.5 s; green: capacity share)`;
  parts.push(`<text x="${x0}" y="${y0 - 5}" font-size="11" fill="#333">${esc(label)}</text>`);
  return parts.join('\n');
}

export function renderChart(cells: CellResult[], config: BenchConfig): string {
  const width = MARGIN.left + 2 * (PANEL_W + MARGIN.left) + MARGIN.right;
  const legendH = 48;
  const height = legendH + cells.length * (CELL_H + 18);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" viewBox="0 0 ${width} ${height}">`);
  parts.push(`<rect width="100%" height="100%" fill="#fafafa"/>`);
  parts.push(
    `<text x="${MARGIN.left}" y="18" font-size="14" font-weight="bold">lookaside balance bench: ${config.workers} workers x exp(${config.serviceMs} ms) per backend, ` +
      `${config.clients} client processes, deadline ${config.deadlineMs} ms</text>`,
  );
  let lx = MARGIN.left;
  for (const [name, color] of Object.entries(COLORS)) {
    parts.push(`<line x1="${lx}" y1="34" x2="${lx + 24}" y2="34" stroke="${color}" stroke-width="${name === 'lookaside' ? 2.2 : 1.5}"${name === 'oracle' ? ' stroke-dasharray="4,2"' : ''}/>`);
    parts.push(`<text x="${lx + 28}" y="38" font-size="12">${name}</text>`);
    lx += 130;
  }
  cells.forEach((cell, i) => {
    const y = legendH + i * (CELL_H + 18);
    parts.push(`<text x="${MARGIN.left}" y="${y + 16}" font-size="13" font-weight="bold">${esc(`(${cell.scenario}) ${cell.title}, ${Math.round(cell.load * 100)}% load`)}</text>`);
    const latMin = LAT_TICKS.filter((v) => v <= config.serviceMs).pop() ?? 10;
    parts.push(panel(cell, MARGIN.left, y + MARGIN.top + 8, 'latency', config.deadlineMs, latMin));
    parts.push(panel(cell, 2 * MARGIN.left + PANEL_W, y + MARGIN.top + 8, 'share', config.deadlineMs, latMin));
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
