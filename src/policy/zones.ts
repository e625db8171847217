import type { TokenCallStats } from '../store/types.js';

/** The client-stats row of calls started by clients in `zone` (tokens never start with '@'). */
export function zoneRow(zone: string): string {
  return `@${zone}`;
}

/** Fewer calls than this from clients that name their zone, in a stats window, say too little about where demand is. */
export const MIN_ZONE_CALLS = 100;

export interface ZonedBackend {
  zone: string;
  /** The backend's policy weight: its share of the fleet's capacity. */
  weight: number;
}

/**
 * Weights for clients in each zone (PreferSameZone, bounded by load): a zone's clients send
 * their calls to its own backends as long as those stay at or under `target` utilization,
 * and spill the rest to the other zones in proportion to their headroom (or, when no zone has
 * any, to their capacity). Keys are the zones that have backends; each array is aligned with
 * `backends`, 0 for a backend that zone's clients should not call, else 1 to `resolution`.
 *
 * `fleetLoad` is the fleet's utilization (calls served over calls it could serve at full use).
 * Demand per zone comes from the client-stats rows of zoned clients; calls from clients that
 * name no zone (grpclb, xDS without a locality) use every zone by the global weights, so their
 * share of each zone's capacity is set aside first. Empty when there is nothing to prefer
 * (fewer than two zones with backends counting the zoneless as one) or too little data.
 */
export function zoneWeights(
  backends: readonly ZonedBackend[],
  clientStats: Record<string, TokenCallStats>,
  fleetLoad: number | undefined,
  target: number,
  resolution: number,
): Record<string, number[]> {
  if (fleetLoad === undefined || !(fleetLoad >= 0)) return {};
  const pools = new Map<string, number>();
  for (const b of backends) pools.set(b.zone, (pools.get(b.zone) ?? 0) + b.weight);
  const zones = [...pools.keys()].filter((z) => z !== '');
  if (zones.length === 0 || pools.size < 2) return {};

  let zonedCalls = 0;
  let allCalls = 0;
  for (const [row, stats] of Object.entries(clientStats)) {
    if (row.startsWith('@')) zonedCalls += pools.has(row.slice(1)) ? stats.started : 0;
    else allCalls += stats.started;
  }
  if (zonedCalls < MIN_ZONE_CALLS || allCalls <= 0) return {};
  const zonedShare = Math.min(1, zonedCalls / allCalls);
  const totalWeight = [...pools.values()].reduce((a, b) => a + b, 0);
  // Per pool, in units of fleet capacity: its capacity, what it can take for zoned clients
  // at the target once the unzoned calls are served, and the demand of its own clients.
  const capacity = new Map([...pools].map(([z, w]) => [z, w / totalWeight]));
  const unzoned = fleetLoad * (1 - zonedShare);
  const room = new Map([...capacity].map(([z, c]) => [z, c * Math.max(0, target - unzoned)]));
  const demand = new Map(zones.map((z) => [z, (fleetLoad * zonedShare * (clientStats[zoneRow(z)]?.started ?? 0)) / zonedCalls]));
  const headroom = new Map([...room].map(([z, r]) => [z, Math.max(0, r - (demand.get(z) ?? 0))]));

  const out: Record<string, number[]> = {};
  for (const zone of zones) {
    const want = demand.get(zone)!;
    const local = want <= room.get(zone)! ? 1 : room.get(zone)! / want;
    const others = [...pools.keys()].filter((z) => z !== zone);
    const spare = others.reduce((sum, z) => sum + headroom.get(z)!, 0);
    // Where the spilled calls go: by headroom, or by capacity when nobody has any.
    const spillShare = (z: string) => (spare > 0 ? headroom.get(z)! / spare : capacity.get(z)! / (1 - capacity.get(zone)!));
    const shares = backends.map((b) => {
      const share = b.zone === zone ? local : (1 - local) * spillShare(b.zone);
      return (share * b.weight) / pools.get(b.zone)!;
    });
    const heaviest = Math.max(...shares);
    out[zone] = shares.map((s) => (s > 0 ? Math.max(1, Math.round((s / heaviest) * resolution)) : 0));
  }
  return out;
}

/** True when two zone weight tables are the same. */
export function sameZoneWeights(a: Record<string, number[]>, b: Record<string, number[]>): boolean {
  const zones = Object.keys(a);
  if (zones.length !== Object.keys(b).length) return false;
  return zones.every((z) => {
    const x = a[z];
    const y = b[z];
    return y !== undefined && x.length === y.length && x.every((w, i) => w === y[i]);
  });
}
