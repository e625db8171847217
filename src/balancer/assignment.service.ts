import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { LOOKASIDE_CONFIG, type LookasideConfig } from '../config/config.js';
import { MetricsService } from '../common/metrics.service.js';
import { computeAssignment, ejectionRules, proposeEjections, sameAssignment, type ServiceAssignment } from '../policy/policy.js';
import { REGISTRY_STORE, type ChangeEvent, type RegistryStore, type ServiceSnapshot } from '../store/types.js';

export type AssignmentListener = (assignment: ServiceAssignment) => void;

/**
 * The assignment of one service on this replica, shared by all its client streams: one
 * subscription, one snapshot read and one policy run per change, however many streams.
 */
class ServiceWatch {
  readonly listeners = new Set<AssignmentListener>();
  current: ServiceAssignment | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;
  private refreshing = false;
  private again = false;
  private loadTimer: NodeJS.Timeout | undefined;
  private lastPushMs = 0;
  private closed = false;
  /** The oldest change not yet pushed (store clock) and whether any of them was membership. */
  private pendingSinceMs: number | undefined;
  private pendingKind: ChangeEvent['kind'] = 'load';

  constructor(
    readonly service: string,
    private readonly store: RegistryStore,
    private readonly config: LookasideConfig,
    private readonly log: Logger,
    private readonly metrics: MetricsService,
  ) {}

  async start(): Promise<void> {
    // Subscribe before the first read, so no change can fall between the two.
    this.unsubscribe = await this.store.subscribe(this.service, (event) => this.onChange(event));
    await this.refresh();
  }

  async stop(): Promise<void> {
    this.closed = true;
    clearTimeout(this.loadTimer);
    await this.unsubscribe?.();
  }

  onChange(event: ChangeEvent): void {
    if (this.pendingSinceMs === undefined || event.atMs < this.pendingSinceMs) this.pendingSinceMs = event.atMs;
    if (event.kind === 'membership') this.pendingKind = 'membership';
    if (event.kind === 'membership') {
      // Membership changes go out at once: a dead backend must stop getting calls now.
      clearTimeout(this.loadTimer);
      this.loadTimer = undefined;
      void this.refresh();
      return;
    }
    // Load-only changes are coalesced: at most one push per loadPushIntervalMs.
    if (this.loadTimer) return;
    const wait = Math.max(0, this.lastPushMs + this.config.loadPushIntervalMs - Date.now());
    this.loadTimer = setTimeout(() => {
      this.loadTimer = undefined;
      void this.refresh();
    }, wait);
  }

  /**
   * Applies the ejections the policy proposes. Every replica watching the service proposes
   * the same ones; the store applies each once and announces it, which refreshes again.
   */
  private async eject(snapshot: ServiceSnapshot): Promise<void> {
    const ids = proposeEjections(snapshot, this.config.policy);
    if (ids.length === 0) return;
    const rules = ejectionRules(snapshot, this.config.policy);
    for (const id of ids) {
      if (await this.store.eject(this.service, id, rules)) this.log.log(`${this.service}/${id}: ejected for failing calls`);
    }
  }

  /** Re-reads the service; pushes only when clients would be told something new. */
  async refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return;
    }
    this.refreshing = true;
    try {
      do {
        this.again = false;
        const changedAtMs = this.pendingSinceMs;
        const kind = this.pendingKind;
        this.pendingSinceMs = undefined;
        this.pendingKind = 'load';
        const snapshot = await this.store.snapshot(this.service);
        const readAt = performance.now();
        if (this.closed) return;
        await this.eject(snapshot);
        const next = computeAssignment(snapshot, this.config.policy);
        // Reads are serialized, so `next` is never older than `current`.
        if (this.current && sameAssignment(next, this.current)) continue;
        this.current = next;
        this.lastPushMs = Date.now();
        for (const listener of this.listeners) listener(next);
        // Change to push on the store's clock, plus the time spent here since reading it.
        if (changedAtMs !== undefined) {
          const seconds = (snapshot.nowMs - changedAtMs + performance.now() - readAt) / 1000;
          this.metrics.pushLatency.observe({ kind }, Math.max(0, seconds));
        }
      } while (this.again && !this.closed);
    } catch (error) {
      this.log.warn(`${this.service}: cannot read state: ${(error as Error).message}`);
    } finally {
      this.refreshing = false;
    }
  }
}

/** Keeps the current assignment of every service some client of this replica watches. */
@Injectable()
export class AssignmentService implements OnModuleDestroy {
  private readonly log = new Logger('Assignments');
  private readonly watches = new Map<string, Promise<ServiceWatch>>();
  private readonly stopResync: () => void;
  private readonly resyncTimer: NodeJS.Timeout;

  constructor(
    @Inject(LOOKASIDE_CONFIG) private readonly config: LookasideConfig,
    @Inject(REGISTRY_STORE) private readonly store: RegistryStore,
    private readonly metrics: MetricsService,
  ) {
    // A missed event (Redis reconnect) must not leave clients on a stale list for long.
    this.stopResync = store.onResync(() => void this.refreshAll());
    this.resyncTimer = setInterval(() => void this.refreshAll(), config.resyncIntervalMs);
    this.resyncTimer.unref();
  }

  /**
   * Calls `listener` with the current assignment (at once if known) and with every change
   * until the returned function is called.
   */
  async watch(service: string, listener: AssignmentListener): Promise<() => void> {
    let pending = this.watches.get(service);
    if (!pending) {
      const created = new ServiceWatch(service, this.store, this.config, this.log, this.metrics);
      pending = created.start().then(() => created);
      this.watches.set(service, pending);
      this.metrics.watchedServices.inc();
      pending.catch(() => {
        this.watches.delete(service);
        this.metrics.watchedServices.dec();
      });
    }
    const watch = await pending;
    watch.listeners.add(listener);
    if (watch.current) listener(watch.current);
    return () => {
      watch.listeners.delete(listener);
      if (watch.listeners.size > 0 || this.watches.get(service) !== pending) return;
      this.watches.delete(service);
      this.metrics.watchedServices.dec();
      void watch.stop();
    };
  }

  /** The assignment this replica holds for `service`, if any client watches it. */
  async current(service: string): Promise<ServiceAssignment | undefined> {
    return (await this.watches.get(service))?.current;
  }

  async onModuleDestroy(): Promise<void> {
    this.stopResync();
    clearInterval(this.resyncTimer);
    const watches = await Promise.allSettled(this.watches.values());
    this.watches.clear();
    await Promise.all(watches.map((w) => (w.status === 'fulfilled' ? w.value.stop() : undefined)));
  }

  private async refreshAll(): Promise<void> {
    const watches = await Promise.allSettled(this.watches.values());
    await Promise.all(watches.map((w) => (w.status === 'fulfilled' ? w.value.refresh() : undefined)));
  }
}
