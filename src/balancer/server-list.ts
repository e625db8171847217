import type { Server } from '../generated/grpc/lb/v1/Server.js';
import type { ServiceAssignment, WeightedBackend } from '../policy/policy.js';
import { packIp } from './ip.js';

/** The token on drop entries; clients count drops per token in ClientStats. */
export const DROP_TOKEN = 'drop';

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * How far a backend's share of a list may be from its share of the weights (absolute). The
 * shortest list within it is used: every stream serializes its own copy of the list.
 */
export const LIST_SHARE_TOLERANCE = 0.01;

/** Repeats for a list of about `size` entries: each backend at least once, the sum at most `size`. */
function countsFor(weights: number[], total: number, size: number): number[] {
  const counts = weights.map((w) => Math.max(1, Math.round((w * size) / total)));
  // Rounding up the small ones can overshoot the size: take the excess from the largest.
  let sum = counts.reduce((a, b) => a + b, 0);
  while (sum > size) {
    let largest = 0;
    for (let i = 1; i < counts.length; i++) if (counts[i] > counts[largest]) largest = i;
    counts[largest] -= 1;
    sum -= 1;
  }
  return counts;
}

function worstShareError(weights: number[], total: number, counts: number[]): number {
  const sum = counts.reduce((a, b) => a + b, 0);
  let worst = 0;
  for (let i = 0; i < weights.length; i++) worst = Math.max(worst, Math.abs(counts[i] / sum - weights[i] / total));
  return worst;
}

/**
 * How many times each backend appears in the list: grpclb clients round-robin over it, so
 * repeats are weights. The shortest list (at most `maxEntries`) whose shares are within
 * LIST_SHARE_TOLERANCE of the weights, reduced by the counts' common divisor. Past
 * `maxEntries` backends, the heaviest (then lowest id) are kept, once each.
 */
export function entryCounts(backends: WeightedBackend[], maxEntries: number): Array<[WeightedBackend, number]> {
  const kept =
    backends.length <= maxEntries
      ? backends
      : [...backends]
          .sort((a, b) => b.weight - a.weight || (a.id < b.id ? -1 : 1))
          .slice(0, maxEntries)
          .sort((a, b) => (a.id < b.id ? -1 : 1));
  const weights = kept.map((b) => b.weight);
  const total = weights.reduce((a, b) => a + b, 0);
  let counts = countsFor(weights, total, Math.min(maxEntries, kept.length));
  for (let size = kept.length + 1; size <= maxEntries && worstShareError(weights, total, counts) > LIST_SHARE_TOLERANCE; size++) {
    counts = countsFor(weights, total, size);
  }
  const divisor = counts.reduce(gcd, 0) || 1;
  return kept.map((b, i) => [b, counts[i] / divisor]);
}

/**
 * Orders the repeats so each backend's turns are spread evenly (smooth weighted round
 * robin), so a client walking the list in order never sends a burst to one backend.
 */
export function interleave<T>(items: Array<[T, number]>): T[] {
  const total = items.reduce((sum, [, n]) => sum + n, 0);
  const current = items.map(() => 0);
  const order: T[] = [];
  for (let step = 0; step < total; step++) {
    let best = -1;
    for (let i = 0; i < items.length; i++) {
      current[i] += items[i][1];
      if (best < 0 || current[i] > current[best]) best = i;
    }
    current[best] -= total;
    order.push(items[best][0]);
  }
  return order;
}

/** The grpclb ServerList for an assignment; drop entries only when the policy asks. */
export function toServerList(assignment: ServiceAssignment, maxEntries: number): Server[] {
  const counts = entryCounts(assignment.backends, maxEntries);
  const backendEntries = counts.reduce((sum, [, n]) => sum + n, 0);
  const p = Math.min(assignment.dropPpm, 999_999) / 1_000_000;
  const drops = p > 0 ? Math.max(1, Math.round((backendEntries * p) / (1 - p))) : 0;
  const servers = new Map<WeightedBackend, Server>(
    counts.map(([b]) => [b, { ipAddress: packIp(b.host), port: b.port, loadBalanceToken: b.token, drop: false }]),
  );
  const dropEntry: Server = { loadBalanceToken: DROP_TOKEN, drop: true };
  const items: Array<[Server, number]> = counts.map(([b, n]) => [servers.get(b)!, n]);
  if (drops > 0) items.push([dropEntry, drops]);
  return interleave(items);
}
