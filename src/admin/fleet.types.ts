/**
 * What the admin port shows of the fleet: GET /api/fleet returns one FleetView, and
 * GET /dashboard/events streams one as a server-sent `fleet` event whenever it changes.
 */
export interface FleetView {
  /** Store clock, unix ms, when the view was read. */
  atMs: number;
  /** Every known service, sorted by name. */
  services: FleetService[];
  /** Backends left out because the view holds at most LOOKASIDE_FLEET_MAX_BACKENDS. */
  omittedBackends: number;
}

export interface FleetService {
  name: string;
  version: number;
  /** Backends listed (reported, or Kubernetes endpoints in cluster mode). */
  total: number;
  /** Backends the policy assigns calls to. */
  assigned: number;
  /** Calls clients are told to drop, parts per million. */
  dropPpm: number;
  /** True when Kubernetes EndpointSlices define the membership. */
  cluster: boolean;
  backends: FleetBackend[];
}

export type FleetBackendState = 'SERVING' | 'NOT_SERVING' | 'DRAINING';

export interface FleetBackend {
  /** "host:port" ("[v6]:port"). */
  id: string;
  zone: string;
  state: FleetBackendState;
  /** Integer weight the policy gives it now; 0 when it gets no calls. */
  weight: number;
  /** Its share of the service's calls, 0 to 1. */
  share: number;
  /** Moving averages of its reports; null before its first report. */
  utilization: number | null;
  rps: number | null;
  eps: number | null;
  requestsInFlight: number | null;
  /** Unix ms until which it is ejected for failing calls; null when not ejected. */
  ejectedUntilMs: number | null;
  /** Unix ms of its last report (0: never reported, e.g. a Kubernetes endpoint without a reporter). */
  lastReportMs: number;
  /** Who registered it: "token:NAME", "system:serviceaccount:NS:SA", or "" with auth off. */
  principal: string;
  labels: Record<string, string>;
}
