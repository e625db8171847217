import { Inject, Injectable, Logger } from '@nestjs/common';
import { LOOKASIDE_CONFIG, type LookasideConfig } from '../config/config.js';
import { KubernetesMembership } from '../kubernetes/kubernetes-membership.js';
import { REGISTRY_STORE, type RegistryStore } from '../store/types.js';

export interface Readiness {
  ready: boolean;
  /** Why not, when not ready. */
  reason?: string;
  store: string;
}

/**
 * Readiness of this replica, shared by GET /readyz and grpc.health.v1: the store answers within
 * LOOKASIDE_HEALTH_CHECK_TIMEOUT_MS, in cluster mode every EndpointSlice watch has listed once
 * (so reports can be checked and assignments are complete), and the replica is not shutting down.
 */
@Injectable()
export class HealthService {
  private readonly log = new Logger('Health');
  private stopping = false;
  private readonly stopListeners = new Set<() => void>();

  constructor(
    @Inject(LOOKASIDE_CONFIG) private readonly config: LookasideConfig,
    @Inject(REGISTRY_STORE) private readonly store: RegistryStore,
    private readonly cluster: KubernetesMembership,
  ) {}

  async check(): Promise<Readiness> {
    const store = this.store.description;
    if (this.stopping) return { ready: false, reason: 'shutting down', store };
    if (this.cluster.enabled() && !this.cluster.synced()) return { ready: false, reason: 'Kubernetes endpoints not listed yet', store };
    const timeoutMs = this.config.healthCheckTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.store.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the store did not answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return { ready: true, store };
    } catch (error) {
      return { ready: false, reason: `store: ${(error as Error).message}`, store };
    } finally {
      clearTimeout(timer);
    }
  }

  /** From now on the replica reports NOT_SERVING, so probes and balancers move away before it closes. */
  shutDown(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.log.log('shutting down: health is NOT_SERVING from now on');
    for (const listener of this.stopListeners) listener();
  }

  /** Called once when shutDown() is (so Watch streams say so at once). */
  onShutDown(listener: () => void): () => void {
    this.stopListeners.add(listener);
    return () => this.stopListeners.delete(listener);
  }
}
