import { Logger, Module } from '@nestjs/common';
import type { KubeConfig } from '@kubernetes/client-node';
import { describe, KUBE_CONFIG, KUBERNETES_CONFIG, KubernetesMembership, loadKubeConfig } from './kubernetes-membership.js';
import { loadKubernetesConfig, type KubernetesConfig } from './kubernetes.config.js';
import { TokenReviewer } from './token-review.js';

/**
 * The KubeConfig shared by the watches and TokenReview; null without credentials. Credentials
 * that do not load stop startup only when the watches need them; otherwise TokenReview reports
 * them as missing.
 */
function sharedKubeConfig(config: KubernetesConfig): KubeConfig | null {
  if (config.credentials === 'none') return null;
  try {
    return loadKubeConfig(config);
  } catch (err) {
    if (config.enabled) throw err;
    new Logger('Kubernetes').warn(`Kubernetes credentials (${config.credentials}) do not load: ${describe(err)}`);
    return null;
  }
}

/**
 * Kubernetes membership source and TokenReview. Import it and inject {@link KubernetesMembership}
 * (inert, enabled() === false, unless configured; see kubernetes.config.ts for the variables) or
 * {@link TokenReviewer}.
 */
@Module({
  providers: [
    { provide: KUBERNETES_CONFIG, useFactory: () => loadKubernetesConfig(process.env) },
    { provide: KUBE_CONFIG, inject: [KUBERNETES_CONFIG], useFactory: sharedKubeConfig },
    KubernetesMembership,
    TokenReviewer,
  ],
  exports: [KubernetesMembership, TokenReviewer, KUBERNETES_CONFIG, KUBE_CONFIG],
})
export class KubernetesModule {}
