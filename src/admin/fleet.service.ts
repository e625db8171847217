import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { LOOKASIDE_CONFIG, type LookasideConfig } from '../config/config.js';
import { MetricsService } from '../common/metrics.service.js';
import { effectiveBackends } from '../policy/membership.js';
import { computeAssignment, loadFigures } from '../policy/policy.js';
import { REGISTRY_STORE, type RegistryStore, type ServiceSnapshot } from '../store/types.js';
import type { FleetBackend, FleetService as FleetServiceView, FleetView } from './fleet.types.js';

export type FleetListener = (view: FleetView) => void;

/** Everything in a view but its clock, to tell whether anything changed. */
function contentKey(view: FleetView): string {
  return JSON.stringify([view.services, view.omittedBackends]);
}

/**
 * What the admin port shows of the fleet (dashboard, /api/fleet, per-backend metrics): every
 * service with its backends, their states, load figures and the weights the policy gives them.
 * Reads are shared: a view younger than LOOKASIDE_FLEET_REFRESH_MS is reused, and the refresh
 * loop for dashboard streams runs only while someone watches.
 */
@Injectable()
export class FleetService implements OnModuleDestroy {
  private readonly log = new Logger('Fleet');
  private latest: { view: FleetView; readAt: number } | undefined;
  private reading: Promise<FleetView> | undefined;
  private readonly listeners = new Set<FleetListener>();
  private timer: NodeJS.Timeout | undefined;
  private lastKey = '';

  constructor(
    @Inject(REGISTRY_STORE) private readonly store: RegistryStore,
    @Inject(LOOKASIDE_CONFIG) private readonly config: LookasideConfig,
    metrics: MetricsService,
  ) {
    this.registerGauges(metrics);
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.listeners.clear();
  }

  /** The fleet now, or as read at most LOOKASIDE_FLEET_REFRESH_MS ago. */
  view(): Promise<FleetView> {
    if (this.latest && performance.now() - this.latest.readAt < this.config.fleetRefreshMs) return Promise.resolve(this.latest.view);
    this.reading ??= this.read().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  /** Calls `listener` with each view that differs from the one before, until unsubscribed. */
  subscribe(listener: FleetListener): () => void {
    this.listeners.add(listener);
    if (!this.timer) {
      this.timer = setInterval(() => void this.tick(), this.config.fleetRefreshMs);
      this.timer.unref();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size > 0) return;
      clearInterval(this.timer);
      this.timer = undefined;
      this.lastKey = '';
    };
  }

  private async tick(): Promise<void> {
    try {
      const view = await this.view();
      const key = contentKey(view);
      if (key === this.lastKey) return;
      this.lastKey = key;
      for (const listener of this.listeners) listener(view);
    } catch (error) {
      this.log.warn(`cannot read the fleet: ${(error as Error).message}`);
    }
  }

  private async read(): Promise<FleetView> {
    const names = (await this.store.listServices()).sort();
    const snapshots = await Promise.all(names.map((name) => this.store.snapshot(name)));
    let room = this.config.fleetMaxBackends;
    let omittedBackends = 0;
    let atMs = 0;
    const services = snapshots.map((snapshot) => {
      atMs = Math.max(atMs, snapshot.nowMs);
      const service = describeService(snapshot, this.config, room);
      omittedBackends += service.total - service.backends.length;
      room -= service.backends.length;
      return service;
    });
    const view: FleetView = { atMs: atMs || Date.now(), services, omittedBackends };
    this.latest = { view, readAt: performance.now() };
    return view;
  }

  /**
   * Per-service and per-backend gauges, filled from the view at scrape time (so their series
   * follow the fleet: a backend that left has none). Cardinality is bounded by
   * LOOKASIDE_FLEET_MAX_BACKENDS.
   */
  private registerGauges(metrics: MetricsService): void {
    const registers = [metrics.registry];
    const backendLabels = ['service', 'backend'] as const;
    const perBackend = (name: string, help: string, value: (b: FleetBackend, atMs: number) => number | null) => ({ name, help, value });
    const backendGauges = [
      perBackend('lookaside_backend_weight', 'Weight the policy gives the backend now (0: no calls).', (b) => b.weight),
      perBackend('lookaside_backend_share', "The backend's share of its service's calls, 0 to 1.", (b) => b.share),
      perBackend('lookaside_backend_utilization', 'Moving average of the utilization the backend reports.', (b) => b.utilization),
      perBackend('lookaside_backend_rps', 'Moving average of the calls per second the backend reports.', (b) => b.rps),
      perBackend('lookaside_backend_eps', 'Moving average of the errors per second the backend reports.', (b) => b.eps),
      perBackend('lookaside_backend_ejected', '1 while the backend is ejected for failing calls.', (b, atMs) => (b.ejectedUntilMs !== null && b.ejectedUntilMs > atMs ? 1 : 0)),
    ];
    const fleet = this;
    for (const spec of backendGauges) {
        new Gauge({
          name: spec.name,
          help: spec.help,
          labelNames: backendLabels,
          registers,
          async collect() {
            this.reset();
            const view = await fleet.view();
            for (const service of view.services) {
              for (const backend of service.backends) {
                const value = spec.value(backend, view.atMs);
                if (value !== null) this.set({ service: service.name, backend: backend.id }, value);
              }
            }
          },
        });
    }
    new Gauge({
      name: 'lookaside_backend_state',
      help: 'The state the backend reports: 1 for its current state (SERVING, NOT_SERVING, DRAINING).',
      labelNames: [...backendLabels, 'state'] as const,
      registers,
      async collect() {
        this.reset();
        const view = await fleet.view();
        for (const service of view.services) {
          for (const backend of service.backends) this.set({ service: service.name, backend: backend.id, state: backend.state }, 1);
        }
      },
    });
    const perService = (name: string, help: string, value: (s: FleetServiceView) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['service'] as const,
        registers,
        async collect() {
          this.reset();
          for (const service of (await fleet.view()).services) this.set({ service: service.name }, value(service));
        },
      });
    perService('lookaside_service_backends', 'Backends listed for the service.', (s) => s.total);
    perService('lookaside_service_assigned_backends', 'Backends the policy assigns calls to.', (s) => s.assigned);
    perService('lookaside_service_drop_ppm', 'Calls clients are told to drop, parts per million.', (s) => s.dropPpm);
  }
}

/** One service as the policy sees it, with at most `room` of its backends listed. */
export function describeService(snapshot: ServiceSnapshot, config: LookasideConfig, room: number): FleetServiceView {
  const assignment = computeAssignment(snapshot, config.policy);
  const weights = new Map(assignment.backends.map((b) => [b.id, b.weight]));
  const totalWeight = assignment.backends.reduce((sum, b) => sum + b.weight, 0);
  const all = effectiveBackends(snapshot);
  const backends = all.slice(0, Math.max(0, room)).map((b): FleetBackend => {
    const figures = loadFigures(b);
    const weight = weights.get(b.id) ?? 0;
    const ejected = b.ejection !== null && b.ejection.untilMs > snapshot.nowMs;
    return {
      id: b.id,
      zone: b.zone,
      state: b.state,
      weight,
      share: totalWeight > 0 ? weight / totalWeight : 0,
      utilization: figures?.utilization ?? null,
      rps: figures?.rps ?? null,
      eps: figures?.eps ?? null,
      requestsInFlight: b.smoothed?.requestsInFlight ?? b.load?.requestsInFlight ?? null,
      ejectedUntilMs: ejected ? b.ejection!.untilMs : null,
      lastReportMs: b.lastReportMs,
      principal: b.principal,
      labels: b.labels,
    };
  });
  return {
    name: snapshot.service,
    version: snapshot.version,
    total: all.length,
    assigned: assignment.backends.length,
    dropPpm: assignment.dropPpm,
    cluster: snapshot.cluster !== null,
    backends,
  };
}
