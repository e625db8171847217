import { Controller, Get, Header, HttpException, HttpStatus, Inject } from '@nestjs/common';
import { MetricsService } from '../common/metrics.service.js';
import { KubernetesMembership } from '../kubernetes/kubernetes-membership.js';
import { REGISTRY_STORE, type RegistryStore } from '../store/types.js';

/** Plain HTTP for probes and scraping, beside the gRPC port. */
@Controller()
export class AdminController {
  constructor(
    @Inject(REGISTRY_STORE) private readonly store: RegistryStore,
    private readonly metrics: MetricsService,
    private readonly cluster: KubernetesMembership,
  ) {}

  /** Liveness: the process answers. */
  @Get('healthz')
  health(): { status: string } {
    return { status: 'ok' };
  }

  /**
   * Readiness: the store answers and, in cluster mode, every EndpointSlice watch has listed
   * once, so reports can be checked and assignments are complete.
   */
  @Get('readyz')
  async ready(): Promise<{ status: string; store: string }> {
    if (this.cluster.enabled() && !this.cluster.synced()) {
      throw new HttpException({ status: 'unavailable', reason: 'Kubernetes endpoints not listed yet' }, HttpStatus.SERVICE_UNAVAILABLE);
    }
    try {
      await this.store.listServices();
      return { status: 'ok', store: this.store.description };
    } catch (error) {
      throw new HttpException({ status: 'unavailable', reason: (error as Error).message }, HttpStatus.SERVICE_UNAVAILABLE);
    }
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4')
  metricsText(): string {
    return this.metrics.render();
  }
}
