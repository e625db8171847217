import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { LOOKASIDE_CONFIG, type LookasideConfig } from '../config/config.js';
import { REGISTRY_STORE, type ClusterMember, type RegistryStore } from '../store/types.js';
import type { ClusterEndpoint } from '../kubernetes/endpoint-slices.js';
import { KubernetesMembership } from '../kubernetes/kubernetes-membership.js';

/** Fixed field order, so every replica writes byte-identical JSON for the same view. */
function toMember(e: ClusterEndpoint): ClusterMember {
  return {
    host: e.host,
    port: e.port,
    ready: e.ready,
    serving: e.serving,
    terminating: e.terminating,
    zone: e.zone,
    nodeName: e.nodeName,
    podName: e.podName,
  };
}

/**
 * Copies this replica's EndpointSlice view of each watched service into the store, where the
 * policy reads it. Every replica does so; the store ignores a view it already has, so the
 * shared state (and thus every client's assignment) does not depend on which replica wrote.
 */
@Injectable()
export class ClusterSyncService implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('ClusterSync');
  private stopListening: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly known = new Set<string>();

  constructor(
    private readonly membership: KubernetesMembership,
    @Inject(REGISTRY_STORE) private readonly store: RegistryStore,
    @Inject(LOOKASIDE_CONFIG) private readonly config: LookasideConfig,
  ) {}

  onModuleInit(): void {
    if (!this.membership.enabled()) return;
    this.stopListening = this.membership.onChange((service) => void this.sync(service));
    // Rewrites are free when nothing changed, and repair a store that lost its data.
    this.timer = setInterval(() => void this.syncAll(), this.config.resyncIntervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    this.stopListening?.();
    clearInterval(this.timer);
  }

  private async syncAll(): Promise<void> {
    await Promise.all([...this.known].map((service) => this.sync(service)));
  }

  private async sync(service: string): Promise<void> {
    const endpoints = this.membership.endpoints(service);
    try {
      if (!this.membership.watches(service)) {
        this.known.delete(service);
        await this.store.setClusterMembers(service, null);
        return;
      }
      if (!endpoints) return; // not synced yet
      this.known.add(service);
      if (await this.store.setClusterMembers(service, endpoints.map(toMember))) {
        this.log.log(`${service}: ${endpoints.filter((e) => e.ready).length}/${endpoints.length} endpoints ready`);
      }
    } catch (error) {
      this.log.warn(`${service}: cannot store the Kubernetes view: ${(error as Error).message}`);
    }
  }
}
