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
 * How many times each backend appears in a list of at most `maxEntries`: grpclb clients
 * round-robin over the list, so repeats are weights. Past `maxEntries` backends, the
 * heaviest (then lowest id) are kept.
 */
export function entryCounts(backends: WeightedBackend[], maxEntries: number): Array<[WeightedBackend, number]> {
  const kept =
    backends.length <= maxEntries
      ? backends
      : [...backends].sort((a, b) => b.weight - a.weight || (a.id < b.id ? -1 : 1)).slice(0, maxEntries)
          .sort((a, b) => (a.id < b.id ? -1 : 1));
  const total = kept.reduce((sum, b) => sum + b.weight, 0);
  const counts = kept.map((b) => (total <= maxEntries ? b.weight : Math.max(1, Math.floor((b.weight * maxEntries) / total))));
  // Flooring can leave the sum above the bound when many backends sit at 1: trim the largest.
  let sum = counts.reduce((a, b) => a + b, 0);
  while (sum > maxEntries) {
    let largest = 0;
    for (let i = 1; i < counts.length; i++) if (counts[i] > counts[largest]) largest = i;
    counts[largest] -= 1;
    sum -= 1;
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
