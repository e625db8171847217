export { KubernetesModule } from './kubernetes.module.js';
export {
  KubernetesMembership,
  KUBERNETES_CONFIG,
  KUBE_CONFIG,
  SERVICE_NAME_LABEL,
  loadKubeConfig,
  type SourceStatus,
} from './kubernetes-membership.js';
export {
  mergeSlices,
  unionEndpoints,
  resolveSlicePort,
  sameEndpoints,
  type ClusterEndpoint,
  type AddressType,
  type PortSelector,
  type MergeOptions,
} from './endpoint-slices.js';
export {
  loadKubernetesConfig,
  parseServiceEntry,
  KubernetesConfigError,
  type KubernetesConfig,
  type TokenReviewConfig,
  type KubernetesMode,
  type ServiceWatchConfig,
} from './kubernetes.config.js';
export {
  TokenReviewer,
  TokenReviewUnavailableError,
  type ServiceAccountIdentity,
  type TokenReviewResult,
} from './token-review.js';
