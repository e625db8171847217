import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { KubernetesMembership } from '../kubernetes/kubernetes-membership.js';
import { status } from '@grpc/grpc-js';
import { LOOKASIDE_CONFIG, type LookasideConfig } from '../config/config.js';
import type { LoadReport__Output } from '../generated/lookaside/v1/LoadReport.js';
import type { Registration__Output } from '../generated/lookaside/v1/Registration.js';
import { backendId, loadBalanceToken } from '../common/backend-id.js';
import { FieldError } from '../common/grpc-errors.js';
import { AuthError } from '../auth/auth.service.js';
import { MetricsService } from '../common/metrics.service.js';
import { effectiveBackends } from '../policy/membership.js';
import { computeAssignment, judgedErrorRate, reportedUtilization } from '../policy/policy.js';
import { ReportWindow } from './report-window.js';
import {
  REGISTRY_STORE,
  type BackendIdentity,
  type BackendRecord,
  type Sample,
  type SmoothedLoad,
  type BackendState,
  type LoadSample,
  type RegistryStore,
} from '../store/types.js';
import { checkHost, checkLabels, checkLoad, checkPort, checkServiceName, checkState, checkZone } from './validation.js';

export interface AcceptedRegistration {
  identity: BackendIdentity;
  /** The latest accepted state and load, with the moving averages so far. */
  sample: Sample;
  /** The stream's latest reports, for outlier ejection. */
  window: ReportWindow;
}

/**
 * Folds a new load sample into the moving averages of a backend's reports. Each backend's
 * reports arrive in order on one stream, so the averages live with the stream; a backend
 * that reconnects (to any replica) starts them afresh from its next sample.
 */
export function smooth(previous: SmoothedLoad | null, load: LoadSample, alpha: number): SmoothedLoad {
  const utilization = reportedUtilization(load);
  const next = { utilization, rps: load.rpsFractional, eps: load.eps, requestsInFlight: load.requestsInFlight };
  if (!previous) return next;
  const mix = (a: number, b: number) => alpha * a + (1 - alpha) * b;
  return {
    utilization: mix(next.utilization, previous.utilization),
    rps: mix(next.rps, previous.rps),
    eps: mix(next.eps, previous.eps),
    requestsInFlight: mix(next.requestsInFlight, previous.requestsInFlight),
  };
}

/** Backends in and out of the shared state; each report stream holds one registration. */
@Injectable()
export class RegistryService implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('Registry');
  private reaper: NodeJS.Timeout | undefined;
  private pruner: NodeJS.Timeout | undefined;
  private reaping = false;

  constructor(
    @Inject(LOOKASIDE_CONFIG) private readonly config: LookasideConfig,
    @Inject(REGISTRY_STORE) private readonly store: RegistryStore,
    private readonly metrics: MetricsService,
    private readonly cluster: KubernetesMembership,
  ) {}

  onModuleInit(): void {
    this.reaper = setInterval(() => void this.reap(), this.config.reaperIntervalMs);
    this.reaper.unref();
    this.pruner = setInterval(() => void this.prune(), this.config.servicePruneIntervalMs);
    this.pruner.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.reaper);
    clearInterval(this.pruner);
  }

  /** Checks every field first: nothing is written unless all of it is valid. */
  parseRegistration(message: Registration__Output, principal: string): AcceptedRegistration {
    const limits = this.config.limits;
    const service = checkServiceName('registration.service', message.service, limits);
    const host = checkHost('registration.host', message.host, limits);
    const port = checkPort('registration.port', message.port);
    const id = backendId(host, port);
    return {
      identity: {
        service,
        id,
        host,
        port,
        zone: checkZone('registration.zone', message.zone, limits),
        labels: checkLabels('registration.labels', message.labels, limits),
        token: loadBalanceToken(service, id),
        session: randomUUID(),
        principal,
      },
      sample: this.firstSample(
        checkState('registration.state', message.state),
        message.load ? checkLoad('registration.load', message.load, limits) : null,
      ),
      window: new ReportWindow(Date.now(), this.config.policy.ejectionWindowMs, this.config.policy.ejectionMinCalls),
    };
  }

  private firstSample(state: BackendState, load: LoadSample | null): Sample {
    return { state, load, smoothed: load ? smooth(null, load, this.config.policy.ewmaAlpha) : null, recent: null };
  }

  parseReport(message: LoadReport__Output): { state: BackendState; load: LoadSample } {
    return {
      load: checkLoad('load_report.load', message.load, this.config.limits),
      state: checkState('load_report.state', message.state),
    };
  }

  async register(registration: AcceptedRegistration): Promise<void> {
    const { identity, sample } = registration;
    this.checkClusterMembership(identity);
    const { limits } = this.config;
    const outcome = await this.store.register(identity, sample, this.config.leaseTtlMs, limits.maxBackendsPerService, limits.maxServices);
    switch (outcome.result) {
      case 'full':
        this.metrics.limitRejections.inc({ limit: 'backends_per_service' });
        throw new FieldError(
          'registration.service',
          `"${identity.service}" already has ${limits.maxBackendsPerService} backends (LOOKASIDE_MAX_BACKENDS_PER_SERVICE)`,
          status.RESOURCE_EXHAUSTED,
        );
      case 'too-many-services':
        this.metrics.limitRejections.inc({ limit: 'services' });
        throw new FieldError(
          'registration.service',
          `lookaside already knows ${limits.maxServices} services (LOOKASIDE_MAX_SERVICES); "${identity.service}" would be one more`,
          status.RESOURCE_EXHAUSTED,
        );
      case 'owned':
        // Only the principal that registered an address may take it over while it is listed.
        this.metrics.authRejections.inc({ api: 'report', reason: 'owned' });
        throw new AuthError('registration.host', `${identity.id} of "${identity.service}" is registered by another principal`, status.PERMISSION_DENIED, 'owned');
    }
    this.metrics.registrations.inc();
  }

  /**
   * In cluster mode the EndpointSlices say who belongs to a service: a backend may report
   * only for an address listed there, so no pod can steer another service's traffic to itself.
   */
  private checkClusterMembership(identity: BackendIdentity): void {
    if (!this.cluster.watches(identity.service)) return;
    const endpoints = this.cluster.endpoints(identity.service);
    if (!endpoints) {
      throw new FieldError(
        'registration.service',
        `the Kubernetes endpoints of "${identity.service}" are not known yet; retry shortly`,
        status.UNAVAILABLE,
      );
    }
    if (!endpoints.some((e) => e.host === identity.host && e.port === identity.port)) {
      throw new FieldError(
        'registration.host',
        `${identity.id} is not an endpoint of the Kubernetes Service behind "${identity.service}"`,
        status.PERMISSION_DENIED,
      );
    }
  }

  /**
   * Records a report and updates the stream's moving averages; a backend whose lease ran
   * out meanwhile is registered again.
   */
  async report(registration: AcceptedRegistration, state: BackendState, load: LoadSample): Promise<void> {
    const { identity } = registration;
    const policy = this.config.policy;
    registration.window.add(Date.now(), load.rpsFractional, load.eps, reportedUtilization(load));
    const recent = registration.window.recent();
    const sample: Sample = { state, load, smoothed: smooth(registration.sample.smoothed, load, policy.ewmaAlpha), recent };
    // A report that may get the backend ejected goes out at once, not with the coalesced load changes.
    const failing = policy.ejectionErrorRate > 0 && judgedErrorRate(recent.calls, recent.failed, policy) >= policy.ejectionErrorRate;
    const outcome = await this.store.report(identity.service, identity.id, identity.session, sample, this.config.leaseTtlMs, failing);
    if (outcome === 'superseded') {
      throw new FieldError('registration', `a newer stream registered ${identity.id} for "${identity.service}"`, status.ABORTED);
    }
    registration.sample = sample;
    if (outcome === 'lease-lost') {
      this.log.log(`${identity.service}/${identity.id}: lease had expired; registering again`);
      await this.register(registration);
    }
    this.metrics.reports.inc();
  }

  async deregister(identity: BackendIdentity): Promise<void> {
    if (await this.store.deregister(identity.service, identity.id, identity.session)) {
      this.metrics.deregistrations.inc();
    }
  }

  async listServices(): Promise<Array<{ name: string; backends: number; serving: number; version: number }>> {
    const names = await this.store.listServices();
    const snapshots = await Promise.all(names.map((name) => this.store.snapshot(name)));
    return snapshots.map((snapshot) => {
      const backends = effectiveBackends(snapshot);
      return {
        name: snapshot.service,
        backends: backends.length,
        serving: backends.filter((b) => b.state === 'SERVING').length,
        version: snapshot.version,
      };
    });
  }

  /** The backends of `service` as the policy sees them, with the weight each gets now. */
  async describe(service: string): Promise<{ backends: BackendRecord[]; version: number; weights: Map<string, number> }> {
    checkServiceName('service', service, this.config.limits);
    const snapshot = await this.store.snapshot(service);
    const assignment = computeAssignment(snapshot, this.config.policy);
    return {
      backends: effectiveBackends(snapshot),
      version: snapshot.version,
      weights: new Map(assignment.backends.map((b) => [b.id, b.weight])),
    };
  }

  /** Forgets services with no backend and no Kubernetes view; any replica may, the store keeps it race-free. */
  private async prune(): Promise<void> {
    try {
      const pruned = await this.store.pruneServices();
      if (pruned.length === 0) return;
      this.metrics.servicesPruned.inc(pruned.length);
      this.log.log(`forgot ${pruned.length} services without backends: ${pruned.slice(0, 10).join(', ')}${pruned.length > 10 ? ', ...' : ''}`);
    } catch (error) {
      this.log.warn(`service pruning failed: ${(error as Error).message}`);
    }
  }

  /** Any replica may expire a lease; the store makes each removal happen once. */
  private async reap(): Promise<void> {
    if (this.reaping) return;
    this.reaping = true;
    try {
      const expired = await this.store.expireLeases();
      for (const { service, id } of expired) this.log.log(`${service}/${id}: lease expired, removed`);
      if (expired.length) this.metrics.leasesExpired.inc(expired.length);
    } catch (error) {
      this.log.warn(`lease expiry failed: ${(error as Error).message}`);
    } finally {
      this.reaping = false;
    }
  }
}
