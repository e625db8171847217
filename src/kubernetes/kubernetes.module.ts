import { Module } from '@nestjs/common';
import { KUBERNETES_CONFIG, KubernetesMembership } from './kubernetes-membership.js';
import { loadKubernetesConfig } from './kubernetes.config.js';

/**
 * Kubernetes membership source. Import it and inject {@link KubernetesMembership}; it is inert
 * (enabled() === false) unless configured (see kubernetes.config.ts for the variables).
 */
@Module({
  providers: [
    { provide: KUBERNETES_CONFIG, useFactory: () => loadKubernetesConfig(process.env) },
    KubernetesMembership,
  ],
  exports: [KubernetesMembership, KUBERNETES_CONFIG],
})
export class KubernetesModule {}
