import type { ServiceAssignment } from '../policy/policy.js';
import { Subsets } from '../policy/subset.js';

interface ZoneViews {
  /** The backends clients of the zone may call (zone weight above 0), with those weights. */
  candidates: ServiceAssignment;
  subsets: Subsets;
  bySubset: Map<string, ServiceAssignment>;
}

/**
 * The assignment as one client sees it: with its zone's weights (see zoneWeights) and, past
 * `subsetSize` backends, only its subset (see Subsets). Views are derived once per assignment,
 * zone and subset and shared, so the renderers' per-assignment caches hold for them too.
 */
export class AssignmentViews {
  private readonly cache = new WeakMap<ServiceAssignment, Map<string, ZoneViews>>();

  /** @param subsetSize backends per client; 0 = no subsetting */
  constructor(readonly subsetSize: number) {}

  /** `slot`: the client's number among the service's clients on this replica (SubsetSlots); undefined = no subset. */
  view(assignment: ServiceAssignment, clientZone: string, slot: number | undefined): ServiceAssignment {
    const zone = assignment.zones[clientZone] ? clientZone : '';
    if (zone === '' && (slot === undefined || !(this.subsetSize > 0 && assignment.backends.length > this.subsetSize))) return assignment;
    let zones = this.cache.get(assignment);
    if (!zones) this.cache.set(assignment, (zones = new Map()));
    let views = zones.get(zone);
    if (!views) {
      const candidates = zone === '' ? assignment : withZoneWeights(assignment, assignment.zones[zone]);
      views = { candidates, subsets: new Subsets(candidates.backends.map((b) => b.id), this.subsetSize), bySubset: new Map() };
      zones.set(zone, views);
    }
    if (slot === undefined || !views.subsets.active) return views.candidates;
    const key = views.subsets.key(slot);
    let view = views.bySubset.get(key);
    if (!view) {
      const backends = views.candidates.backends;
      view = { ...views.candidates, backends: views.subsets.of(slot).map((i) => backends[i]) };
      views.bySubset.set(key, view);
    }
    return view;
  }
}

function withZoneWeights(assignment: ServiceAssignment, weights: number[]): ServiceAssignment {
  const backends = assignment.backends.flatMap((b, i) => (weights[i] > 0 ? [{ ...b, weight: weights[i] }] : []));
  return { ...assignment, backends, zones: {} };
}
