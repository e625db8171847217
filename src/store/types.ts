/** The shared state of the service, as both stores hold it. */

export type BackendState = 'SERVING' | 'NOT_SERVING' | 'DRAINING';

export interface LoadSample {
  cpuUtilization: number;
  memUtilization: number;
  applicationUtilization: number;
  rpsFractional: number;
  eps: number;
  requestsInFlight: number;
  namedMetrics: Record<string, number>;
}

/** What a registration fixes for the life of a backend's stream. */
export interface BackendIdentity {
  service: string;
  /** "host:port" ("[v6]:port" for IPv6): unique within the service. */
  id: string;
  host: string;
  port: number;
  zone: string;
  labels: Record<string, string>;
  /** The printable token clients send as lb-token; derived from service and id. */
  token: string;
  /** One per report stream: a newer stream for the same id supersedes an older one. */
  session: string;
  /**
   * Who registered it ("token:NAME", "system:serviceaccount:NS:SA"; "" with auth off). Only the
   * same principal may register the id again while it is listed.
   */
  principal: string;
}

/** Exponentially weighted moving averages of a backend's reports (see RegistryService). */
export interface SmoothedLoad {
  /** application_utilization when set, else cpu_utilization. */
  utilization: number;
  rps: number;
  eps: number;
  requestsInFlight: number;
}

/** What outlier ejection reads of a backend's latest reports (see ReportWindow). */
export interface RecentReports {
  /** Calls and failures in the newest reports, back until they hold enough calls to judge. */
  calls: number;
  failed: number;
  /** Calls per second and mean utilization over all the reports of the window. */
  rps: number;
  utilization: number;
}

/** A backend taken out for failing; back in once the store clock passes untilMs. */
export interface Ejection {
  untilMs: number;
  /** Ejections in a row; each one lasts twice as long as the one before. */
  count: number;
}

export interface BackendRecord extends BackendIdentity {
  state: BackendState;
  /** The latest sample, as the backend reported it. */
  load: LoadSample | null;
  smoothed: SmoothedLoad | null;
  recent: RecentReports | null;
  /** Store clock, unix ms, of the registration or the last report. */
  lastReportMs: number;
  /** Store clock, unix ms, since which this id has been listed without a gap. */
  registeredAtMs: number;
  ejection: Ejection | null;
}

export interface EjectionRules {
  /** The first ejection lasts this long; each one in a row doubles it... */
  baseMs: number;
  /** ...up to this. */
  maxMs: number;
  /** A backend not ejected for this long starts again from baseMs. */
  resetAfterMs: number;
  /** Never more than this many of the service's backends out at once. */
  maxEjected: number;
}

/** Calls the clients saw per backend token over the last complete stats window. */
export interface TokenCallStats {
  started: number;
  finished: number;
  failed: number;
  dropped: number;
}

/**
 * One endpoint of the Kubernetes Service(s) behind a lookaside service, as the EndpointSlices
 * say (src/kubernetes). In cluster mode these define membership; reports add load and draining.
 */
export interface ClusterMember {
  /** IP address (IPv4 dotted quad or IPv6 text, without brackets). */
  host: string;
  /** Port resolved by name from the slice's `ports` (per slice: named ports may differ per pod). */
  port: number;
  /** `conditions.ready` (nil = true). False while terminating, except for publishNotReadyAddresses. */
  ready: boolean;
  /** `conditions.serving` (nil = ready): the pod passes readiness, terminating or not. */
  serving: boolean;
  /** `conditions.terminating` (nil = false): the pod is shutting down; treat it as draining. */
  terminating: boolean;
  /** `zone` of the endpoint, '' when unknown. */
  zone: string;
  /** `nodeName` of the endpoint, '' when unknown. */
  nodeName: string;
  /** `targetRef.name` when the endpoint is a Pod, '' otherwise. */
  podName: string;
}

export interface ServiceSnapshot {
  service: string;
  /** The store's clock when the snapshot was read, unix ms. */
  nowMs: number;
  /** Bumped by every accepted change of the service; equal state, equal version. */
  version: number;
  /** Sorted by id, so that everything computed from a snapshot is deterministic. */
  backends: BackendRecord[];
  clientStats: Record<string, TokenCallStats>;
  /** The Kubernetes view of the service, sorted by host and port; null outside cluster mode. */
  cluster: ClusterMember[] | null;
}

export type ChangeKind = 'membership' | 'load';

export interface ChangeEvent {
  service: string;
  kind: ChangeKind;
  version: number;
  /** Store clock, unix ms, of the change (for the change-to-push latency). */
  atMs: number;
  /** Ids removed by this change (deregistration or lease expiry). */
  removed?: string[];
}

export type RegisterOutcome =
  | { result: 'registered'; version: number }
  /** The service already holds its maximum number of backends. */
  | { result: 'full' }
  /** The id is listed, registered by another principal. */
  | { result: 'owned'; principal: string }
  /** The service is new and the store already knows its maximum number of services. */
  | { result: 'too-many-services' };

/**
 * 'lease-lost': the backend is no longer listed (its lease expired); register again.
 * 'superseded': a newer stream registered the same host and port; this one must stop.
 */
export type ReportOutcome = 'accepted' | 'lease-lost' | 'superseded';

export interface ExpiredBackend {
  service: string;
  id: string;
}

export type ChangeListener = (event: ChangeEvent) => void;

/** What a registration or a report says about a backend's state and load. */
export interface Sample {
  state: BackendState;
  load: LoadSample | null;
  smoothed: SmoothedLoad | null;
  recent: RecentReports | null;
}

/**
 * The one interface both stores implement; test/store.contract.ts holds the suite that
 * runs against each. Clocks are the store's own (Redis TIME for Redis), so replicas with
 * skewed clocks agree on leases.
 */
export interface RegistryStore {
  /** Human-readable, for the start-up log. */
  readonly description: string;
  /** True when several replicas can share this store. */
  readonly shared: boolean;

  /**
   * Lists the backend (or takes over its id from an older stream of the same principal).
   * `maxServices` bounds the known services; across replicas it may be overshot by the number of
   * first registrations of new services in flight at once.
   */
  register(backend: BackendIdentity, sample: Sample, leaseTtlMs: number, maxBackends: number, maxServices?: number): Promise<RegisterOutcome>;

  /**
   * Records a report. `urgent` announces it as a membership change (pushed at once) rather
   * than a load change (coalesced): for reports that may get the backend ejected.
   */
  report(service: string, id: string, session: string, sample: Sample, leaseTtlMs: number, urgent: boolean): Promise<ReportOutcome>;

  /**
   * Ejects a listed backend unless it is already out or `rules.maxEjected` are; idempotent
   * across replicas. True when it ejected.
   */
  eject(service: string, id: string, rules: EjectionRules): Promise<boolean>;

  /** Removes the backend if `session` still owns it; true when it did. */
  deregister(service: string, id: string, session: string): Promise<boolean>;

  /** Removes every backend whose lease has run out; each removal happens exactly once. */
  expireLeases(): Promise<ExpiredBackend[]>;

  snapshot(service: string): Promise<ServiceSnapshot>;

  /**
   * Replaces the Kubernetes view of `service` (null: no longer watched). Idempotent: every
   * replica may write the same view, and only a real change bumps the version and is announced.
   * Returns true when it changed something.
   */
  setClusterMembers(service: string, members: ClusterMember[] | null): Promise<boolean>;

  /** Every service with a backend registered or a Kubernetes view since it was last pruned. */
  listServices(): Promise<string[]>;

  /**
   * Forgets the services that have neither a backend nor a Kubernetes view; returns them. Safe
   * against a registration racing it on any replica: a service registered meanwhile stays
   * listed. A pruned service that comes back starts its versions from the store clock, so they
   * still only increase.
   */
  pruneServices(): Promise<string[]>;

  /** Resolves when the store answers (readiness). */
  ping(): Promise<void>;

  /** Adds client-observed call counts to the current stats window of each service. */
  addClientStats(batch: Map<string, Map<string, TokenCallStats>>): Promise<void>;

  /** Delivers every change of `service`, from any replica; resolves once listening. */
  subscribe(service: string, listener: ChangeListener): Promise<() => Promise<void>>;

  /** Called when delivery may have had a gap (reconnect): re-read what you serve. */
  onResync(listener: () => void): () => void;

  close(): Promise<void>;
}

export const REGISTRY_STORE = Symbol('REGISTRY_STORE');

export function emptyTokenStats(): TokenCallStats {
  return { started: 0, finished: 0, failed: 0, dropped: 0 };
}

/** Adds `delta` into the counts of `token` in `sums`. */
export function addTokenStats(sums: Map<string, TokenCallStats>, token: string, delta: TokenCallStats): void {
  const sum = sums.get(token) ?? emptyTokenStats();
  sum.started += delta.started;
  sum.finished += delta.finished;
  sum.failed += delta.failed;
  sum.dropped += delta.dropped;
  sums.set(token, sum);
}
