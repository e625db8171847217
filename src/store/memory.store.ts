import { EventEmitter } from 'node:events';
import type {
  BackendIdentity,
  BackendRecord,
  ChangeEvent,
  ChangeListener,
  ClusterMember,
  EjectionRules,
  ExpiredBackend,
  RegisterOutcome,
  RegistryStore,
  ReportOutcome,
  Sample,
  ServiceSnapshot,
  TokenCallStats,
} from './types.js';
import { addTokenStats } from './types.js';

interface ServiceState {
  version: number;
  backends: Map<string, BackendRecord>;
  leases: Map<string, number>;
  cluster: ClusterMember[] | null;
  /** stats window index -> token -> counts */
  stats: Map<number, Map<string, TokenCallStats>>;
}

/**
 * The embedded default: everything in this process. Same semantics as the Redis store,
 * but nothing is shared, so it serves a single replica only.
 */
export class MemoryStore implements RegistryStore {
  readonly description = 'in-memory store (single replica only: set REDIS_URL to share state)';
  readonly shared = false;
  private readonly services = new Map<string, ServiceState>();
  /** Services with a backend registered or a Kubernetes view since they were last pruned. */
  private readonly known = new Set<string>();
  /** The highest version of any pruned service: new services start above it. */
  private versionFloor = 0;
  private readonly events = new EventEmitter();

  constructor(
    private readonly statsWindowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.events.setMaxListeners(0);
  }

  async register(
    backend: BackendIdentity,
    sample: Sample,
    leaseTtlMs: number,
    maxBackends: number,
    maxServices = Number.POSITIVE_INFINITY,
  ): Promise<RegisterOutcome> {
    if (!this.known.has(backend.service) && this.known.size >= maxServices) return { result: 'too-many-services' };
    const svc = this.serviceState(backend.service);
    const previous = svc.backends.get(backend.id);
    if (previous && previous.principal !== backend.principal) return { result: 'owned', principal: previous.principal };
    if (!previous && svc.backends.size >= maxBackends) return { result: 'full' };
    this.known.add(backend.service);
    const now = this.now();
    svc.backends.set(backend.id, {
      ...structuredClone(backend),
      ...structuredClone(sample),
      lastReportMs: now,
      registeredAtMs: previous?.registeredAtMs ?? now,
      ejection: previous?.ejection ?? null,
    });
    svc.leases.set(backend.id, now + leaseTtlMs);
    const version = this.publish(backend.service, svc, 'membership');
    return { result: 'registered', version };
  }

  async report(service: string, id: string, session: string, sample: Sample, leaseTtlMs: number, urgent: boolean): Promise<ReportOutcome> {
    const svc = this.services.get(service);
    const record = svc?.backends.get(id);
    if (!svc || !record) return 'lease-lost';
    if (record.session !== session) return 'superseded';
    const now = this.now();
    const kind = record.state === sample.state && !urgent ? 'load' : 'membership';
    svc.backends.set(id, { ...record, ...structuredClone(sample), lastReportMs: now });
    svc.leases.set(id, now + leaseTtlMs);
    this.publish(service, svc, kind);
    return 'accepted';
  }

  async eject(service: string, id: string, rules: EjectionRules): Promise<boolean> {
    const svc = this.services.get(service);
    const record = svc?.backends.get(id);
    if (!svc || !record) return false;
    const now = this.now();
    if (record.ejection && record.ejection.untilMs > now) return false;
    let out = 0;
    for (const b of svc.backends.values()) if (b.ejection && b.ejection.untilMs > now) out += 1;
    if (out >= rules.maxEjected) return false;
    const previous = record.ejection && now - record.ejection.untilMs < rules.resetAfterMs ? record.ejection.count : 0;
    const count = previous + 1;
    record.ejection = { untilMs: now + Math.min(rules.maxMs, rules.baseMs * 2 ** (count - 1)), count };
    this.publish(service, svc, 'membership');
    return true;
  }

  async deregister(service: string, id: string, session: string): Promise<boolean> {
    const svc = this.services.get(service);
    if (svc?.backends.get(id)?.session !== session) return false;
    svc.backends.delete(id);
    svc.leases.delete(id);
    this.publish(service, svc, 'membership', [id]);
    return true;
  }

  async expireLeases(): Promise<ExpiredBackend[]> {
    const now = this.now();
    const expired: ExpiredBackend[] = [];
    for (const [service, svc] of this.services) {
      const removed: string[] = [];
      for (const [id, deadline] of svc.leases) {
        if (deadline > now) continue;
        svc.leases.delete(id);
        svc.backends.delete(id);
        removed.push(id);
        expired.push({ service, id });
      }
      if (removed.length > 0) this.publish(service, svc, 'membership', removed);
    }
    return expired;
  }

  async snapshot(service: string): Promise<ServiceSnapshot> {
    const svc = this.services.get(service);
    if (!svc) return { service, nowMs: this.now(), version: 0, backends: [], clientStats: {}, cluster: null };
    const backends = [...svc.backends.values()]
      .map((b) => structuredClone(b))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const window = svc.stats.get(this.windowIndex() - 1);
    const clientStats: Record<string, TokenCallStats> = {};
    for (const [token, counts] of window ?? []) clientStats[token] = { ...counts };
    return { service, nowMs: this.now(), version: svc.version, backends, clientStats, cluster: structuredClone(svc.cluster) };
  }

  async setClusterMembers(service: string, members: ClusterMember[] | null): Promise<boolean> {
    const svc = this.serviceState(service);
    if (JSON.stringify(svc.cluster) === JSON.stringify(members)) return false;
    svc.cluster = structuredClone(members);
    if (members) this.known.add(service);
    this.publish(service, svc, 'membership');
    return true;
  }

  async listServices(): Promise<string[]> {
    return [...this.known].sort();
  }

  async pruneServices(): Promise<string[]> {
    const pruned: string[] = [];
    // States made only by client stats go too: they are not known, but hold memory.
    for (const [service, svc] of this.services) {
      if (svc.backends.size > 0 || svc.cluster) continue;
      this.versionFloor = Math.max(this.versionFloor, svc.version);
      this.services.delete(service);
      if (this.known.delete(service)) pruned.push(service);
    }
    return pruned.sort();
  }

  async ping(): Promise<void> {}

  async addClientStats(batch: Map<string, Map<string, TokenCallStats>>): Promise<void> {
    const index = this.windowIndex();
    for (const [service, tokens] of batch) {
      const svc = this.serviceState(service);
      let window = svc.stats.get(index);
      if (!window) {
        window = new Map();
        svc.stats.set(index, window);
        // Keep the window being filled and the last complete one.
        for (const old of svc.stats.keys()) if (old < index - 1) svc.stats.delete(old);
      }
      for (const [token, add] of tokens) addTokenStats(window, token, add);
    }
  }

  async subscribe(service: string, listener: ChangeListener): Promise<() => Promise<void>> {
    this.events.on(service, listener);
    return async () => {
      this.events.off(service, listener);
    };
  }

  onResync(): () => void {
    // Delivery is in-process: it never has gaps.
    return () => {};
  }

  async close(): Promise<void> {
    this.events.removeAllListeners();
  }

  private windowIndex(): number {
    return Math.floor(this.now() / this.statsWindowMs);
  }

  private serviceState(service: string): ServiceState {
    let svc = this.services.get(service);
    if (!svc) {
      // Past the clock in microseconds and every pruned service's version: one that comes back never repeats a version.
      svc = { version: Math.max(this.now() * 1000, this.versionFloor), backends: new Map(), leases: new Map(), stats: new Map(), cluster: null };
      this.services.set(service, svc);
    }
    return svc;
  }

  private publish(service: string, svc: ServiceState, kind: ChangeEvent['kind'], removed?: string[]): number {
    svc.version += 1;
    const event: ChangeEvent = { service, kind, version: svc.version, atMs: this.now() };
    if (removed) event.removed = removed;
    // Listeners run after the write returns, as they would with Redis pub/sub.
    queueMicrotask(() => this.events.emit(service, event));
    return svc.version;
  }
}
