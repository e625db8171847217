// Deterministic subsetting (issue 13): 200 backends, 500 clients numbered 0..499, subsets of
// 20 (BENCH_BACKENDS, BENCH_CLIENTS, BENCH_SUBSET). Prints the spread of clients and of load
// per backend (each client spreads its calls evenly over its subset), next to random subsets
// (each client takes the top-k backends by a hash of its own random id, as clients with no
// coordination would), and the churn when one backend joins.
// Run: npm run bench:subsets
import { randomUUID } from 'node:crypto';
import { Subsets } from '../src/policy/subset.js';

const BACKENDS = Number(process.env.BENCH_BACKENDS ?? 200);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 500);
const SUBSET = Number(process.env.BENCH_SUBSET ?? 20);

const ids = Array.from({ length: BACKENDS }, (_, i) => `10.${Math.floor(i / 250)}.${i % 250}.1:8080`);

function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function spread(subsets: number[][]): string {
  const per = new Array<number>(BACKENDS).fill(0);
  for (const s of subsets) for (const b of s) per[b]++;
  const mean = per.reduce((a, b) => a + b, 0) / BACKENDS;
  const sd = Math.sqrt(per.reduce((a, b) => a + (b - mean) ** 2, 0) / BACKENDS);
  return `clients per backend min ${Math.min(...per)}, max ${Math.max(...per)}, mean ${mean.toFixed(1)}, stddev ${sd.toFixed(2)}; load max/mean ${(Math.max(...per) / mean).toFixed(3)}, min/mean ${(Math.min(...per) / mean).toFixed(3)}`;
}

const deterministic = new Subsets(ids, SUBSET);
const det = Array.from({ length: CLIENTS }, (_, c) => deterministic.of(c));
const clientIds = Array.from({ length: CLIENTS }, () => randomUUID());
const random = clientIds.map((id) =>
  ids
    .map((b, i) => [hash(`${id}/${b}`), i])
    .sort((x, y) => x[0] - y[0])
    .slice(0, SUBSET)
    .map(([, i]) => i),
);
console.log(`${BACKENDS} backends, ${CLIENTS} clients, subsets of ${SUBSET}`);
console.log(`deterministic: ${spread(det)}`);
console.log(`random:        ${spread(random)}`);

const grown = new Subsets([...ids, '10.99.99.1:8080'], SUBSET);
const all = [...ids, '10.99.99.1:8080'];
let changedClients = 0;
let replaced = 0;
for (let c = 0; c < CLIENTS; c++) {
  const was = new Set(det[c].map((i) => ids[i]));
  const lost = grown.of(c).filter((i) => !was.has(all[i])).length;
  if (lost > 0) changedClients++;
  replaced += lost;
}
console.log(`one backend joins: ${changedClients} of ${CLIENTS} clients change their subset, ${(replaced / CLIENTS).toFixed(2)} backends per client on average (at most 1 each)`);
