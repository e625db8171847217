import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The gRPC APIs, as metric labels. */
export type ApiLabel = 'report' | 'watch' | 'balance_load' | 'registry';

/** Seconds; report handling is a store round trip, a push may wait for the load coalescing (1 s). */
const HANDLING_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const PUSH_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Every metric of a replica, in one prom-client registry per app (several apps may share a
 * process in tests). The per-service and per-backend gauges are filled at scrape time from the
 * fleet view (see FleetService).
 */
@Injectable()
export class MetricsService implements OnModuleDestroy {
  readonly registry = new Registry();
  private readonly registers = [this.registry];

  readonly registrations = new Counter({ name: 'lookaside_registrations_total', help: 'Backend registrations accepted.', registers: this.registers });
  readonly reports = new Counter({ name: 'lookaside_reports_total', help: 'Load reports accepted.', registers: this.registers });
  readonly deregistrations = new Counter({
    name: 'lookaside_deregistrations_total',
    help: 'Backends removed by a clean end of their report stream.',
    registers: this.registers,
  });
  readonly leasesExpired = new Counter({
    name: 'lookaside_leases_expired_total',
    help: 'Backends removed because their lease ran out (by this replica).',
    registers: this.registers,
  });
  readonly servicesPruned = new Counter({
    name: 'lookaside_services_pruned_total',
    help: 'Services forgotten because they had no backend and no Kubernetes view (by this replica).',
    registers: this.registers,
  });
  readonly rejectedInputs = new Counter({
    name: 'lookaside_rejected_inputs_total',
    help: 'Streams or calls ended for bad input (INVALID_ARGUMENT and other input errors), by API.',
    labelNames: ['api'] as const,
    registers: this.registers,
  });
  readonly authRejections = new Counter({
    name: 'lookaside_auth_rejections_total',
    help: 'Streams or calls refused with UNAUTHENTICATED or PERMISSION_DENIED, by API and reason.',
    labelNames: ['api', 'reason'] as const,
    registers: this.registers,
  });
  readonly limitRejections = new Counter({
    name: 'lookaside_limit_rejections_total',
    help: 'Streams or registrations refused with RESOURCE_EXHAUSTED, by the limit they hit.',
    labelNames: ['limit'] as const,
    registers: this.registers,
  });
  readonly fileReloads = new Counter({
    name: 'lookaside_file_reloads_total',
    help: 'Certificate and token file changes taken (ok) or refused and ignored (error).',
    labelNames: ['file', 'result'] as const,
    registers: this.registers,
  });
  readonly tokenReviews = new Counter({
    name: 'lookaside_token_reviews_total',
    help: 'Kubernetes TokenReview requests sent (cache misses).',
    registers: this.registers,
  });
  readonly assignmentsPushed = new Counter({
    name: 'lookaside_assignments_pushed_total',
    help: 'Assignment messages written to client streams, by API.',
    labelNames: ['api'] as const,
    registers: this.registers,
  });
  readonly xdsNacks = new Counter({
    name: 'lookaside_xds_nacks_total',
    help: 'xDS responses a client rejected (a DiscoveryRequest with error_detail), by resource type.',
    labelNames: ['type'] as const,
    registers: this.registers,
  });
  readonly xdsResourcesOmitted = new Counter({
    name: 'lookaside_xds_resources_omitted_total',
    help: 'xDS resource names left out of a response (the client sees "does not exist"), by reason (invalid, denied).',
    labelNames: ['reason'] as const,
    registers: this.registers,
  });
  readonly streams = new Gauge({
    name: 'lookaside_streams',
    help: 'Open streams, by API (report, watch, balance_load, xds, lrs).',
    labelNames: ['api'] as const,
    registers: this.registers,
  });
  readonly watchedServices = new Gauge({
    name: 'lookaside_watched_services',
    help: 'Services with at least one open client stream on this replica.',
    registers: this.registers,
  });
  readonly dashboardClients = new Gauge({
    name: 'lookaside_dashboard_clients',
    help: 'Open dashboard event streams.',
    registers: this.registers,
  });
  readonly reportHandling = new Histogram({
    name: 'lookaside_report_handling_seconds',
    help: 'From a registration or load report arriving to its acknowledgement (store write included).',
    labelNames: ['kind'] as const,
    buckets: HANDLING_BUCKETS,
    registers: this.registers,
  });
  readonly pushLatency = new Histogram({
    name: 'lookaside_push_latency_seconds',
    help: 'From a change in the store to the new assignment written to this replica\'s streams, by kind of change (load changes are coalesced).',
    labelNames: ['kind'] as const,
    buckets: PUSH_BUCKETS,
    registers: this.registers,
  });

  /**
   * The process's own figures, read at scrape time. Not prom-client's collectDefaultMetrics:
   * its GC observer costs about a fifth of report throughput under load (bench:core).
   */
  private readonly eventLoopDelay = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    this.eventLoopDelay.enable();
    new Counter({
      name: 'lookaside_process_cpu_seconds_total',
      help: 'User and system CPU time of this process.',
      registers: this.registers,
      collect() {
        const { user, system } = process.cpuUsage();
        this.reset();
        this.inc((user + system) / 1e6);
      },
    });
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: this.registers,
        collect() {
          this.set(read());
        },
      });
    gauge('lookaside_process_resident_memory_bytes', 'Resident memory of this process.', () => process.memoryUsage.rss());
    gauge('lookaside_nodejs_heap_used_bytes', 'V8 heap in use.', () => process.memoryUsage().heapUsed);
    gauge('lookaside_nodejs_eventloop_lag_p99_seconds', 'Event loop delay, 99th percentile since the previous scrape.', () => {
      const p99 = this.eventLoopDelay.percentile(99) / 1e9;
      this.eventLoopDelay.reset();
      return Number.isFinite(p99) ? p99 : 0;
    });
    for (const api of ['report', 'watch', 'balance_load', 'xds', 'lrs'] as const) this.streams.set({ api }, 0);
  }

  /** The value of an unlabelled counter or gauge, or the sum over its labels (tests, logs). */
  async value(metric: Counter | Gauge): Promise<number> {
    const { values } = await metric.get();
    return values.reduce((sum, v) => sum + v.value, 0);
  }

  onModuleDestroy(): void {
    this.eventLoopDelay.disable();
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
