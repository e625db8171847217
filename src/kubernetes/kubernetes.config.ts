/**
 * Configuration of the Kubernetes membership source and of TokenReview (projected ServiceAccount
 * tokens of reporters, LOOKASIDE_AUTH_MODE=kubernetes), read from the environment.
 *
 * | variable                          | default                  | meaning |
 * |-----------------------------------|--------------------------|---------|
 * | LOOKASIDE_K8S                     | auto                     | `auto`: on when something is configured to watch AND credentials are found (KUBECONFIG or the in-cluster service account); `on`: same but a missing piece is a startup error; `off`: never. |
 * | LOOKASIDE_K8S_SERVICES            | (empty)                  | Explicit list, comma or whitespace separated, of `[name=][namespace/]service[:port-name]`: lookaside service `name` (default: the Service's name) is backed by the EndpointSlices of that Service. Without `:port-name` the port named LOOKASIDE_K8S_PORT_NAME is used, or the slice's only port. |
 * | LOOKASIDE_K8S_DISCOVERY_NAMESPACES| (empty)                  | Label discovery: namespaces (comma separated, `*` = all, which needs a ClusterRoleBinding) in which every Service labelled LOOKASIDE_K8S_SERVICE_LABEL is served. Empty = off. |
 * | LOOKASIDE_K8S_SERVICE_LABEL       | lookaside.io/service     | Label on a Service (copied by Kubernetes onto its EndpointSlices) whose value is the lookaside service name. |
 * | LOOKASIDE_K8S_PORT_LABEL          | lookaside.io/port-name   | Optional label on such a Service naming its gRPC port. |
 * | LOOKASIDE_K8S_PORT_NAME           | grpc                     | Port name used when none is given; a slice with a single port falls back to that port. |
 * | LOOKASIDE_K8S_NAMESPACE           | the pod's namespace      | Namespace of LOOKASIDE_K8S_SERVICES entries without one (then POD_NAMESPACE, the service account's namespace file, `default`). |
 * | LOOKASIDE_K8S_ADDRESS_TYPE        | IPv4                     | `IPv4` or `IPv6`: which slices of a dual-stack Service to use. |
 * | LOOKASIDE_K8S_BACKOFF_MIN_MS      | 500                      | First delay before restarting a failed watch; doubles on each failure (with ±20% jitter). |
 * | LOOKASIDE_K8S_BACKOFF_MAX_MS      | 30000                    | Cap of that delay, and of the informer's own reconnect delay after a closed watch. |
 * | LOOKASIDE_K8S_SERVICE_ACCOUNT_LABEL | lookaside.io/service-account | Label on a backend Service naming the ServiceAccount whose pods may report for it. |
 * | LOOKASIDE_AUTH_K8S_AUDIENCES      | lookaside                | Comma separated audiences a reporter's token must carry (the `audience` of its projected token). |
 * | LOOKASIDE_AUTH_K8S_CACHE_TTL_MS   | 60000                    | How long an accepted token is trusted without asking the API again (never past the token's `exp`). |
 * | LOOKASIDE_AUTH_K8S_NEGATIVE_CACHE_TTL_MS | 5000              | How long a rejected token stays rejected without asking again. |
 * | LOOKASIDE_AUTH_K8S_CACHE_SIZE     | 10000                    | Most tokens remembered (accepted and rejected); the oldest goes first. |
 * | LOOKASIDE_AUTH_K8S_TIMEOUT_MS     | 5000                     | Longest wait for one TokenReview; then the caller is told to retry (UNAVAILABLE). |
 * | KUBECONFIG                        | (unset)                  | Standard kubeconfig path(s); when set it wins over the in-cluster service account. |
 */
import { existsSync, readFileSync } from 'node:fs';
import type { AddressType, PortSelector } from './endpoint-slices.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export type KubernetesMode = 'auto' | 'on' | 'off';

/** One explicitly configured Service. */
export interface ServiceWatchConfig {
  /** lookaside service name (what clients ask for). */
  name: string;
  namespace: string;
  /** Kubernetes Service name (the `kubernetes.io/service-name` label of its slices). */
  service: string;
  port: PortSelector;
}

/** How projected ServiceAccount tokens are verified (see token-review.ts). */
export interface TokenReviewConfig {
  /** Sent as spec.audiences; an answer whose status.audiences shares none of them is a rejection. */
  audiences: string[];
  cacheTtlMs: number;
  negativeCacheTtlMs: number;
  cacheSize: number;
  timeoutMs: number;
}

export interface KubernetesConfig {
  mode: KubernetesMode;
  /** True when the membership source runs. */
  enabled: boolean;
  /** Why it does not run, when it does not (logged at startup). */
  disabledReason?: string;
  credentials: 'kubeconfig' | 'in-cluster' | 'none';
  services: ServiceWatchConfig[];
  /** Namespaces for label discovery; `'*'` means all namespaces; empty = discovery off. */
  discoveryNamespaces: string[];
  serviceLabel: string;
  portLabel: string;
  defaultPortName: string;
  addressType: AddressType;
  backoffMinMs: number;
  backoffMaxMs: number;
  /** Label of a Service (and so of its slices) naming the ServiceAccount allowed to report for it. */
  serviceAccountLabel: string;
  tokenReview: TokenReviewConfig;
}

export interface ConfigProbe {
  exists(path: string): boolean;
  read(path: string): string;
}

const realProbe: ConfigProbe = {
  exists: (p) => existsSync(p),
  read: (p) => readFileSync(p, 'utf8'),
};

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const PORT_NAME = /^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

export class KubernetesConfigError extends Error {}

function positiveInt(env: NodeJS.ProcessEnv, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new KubernetesConfigError(`${key} must be a positive integer, got "${raw}"`);
  return n;
}

/** Parse one `[name=][namespace/]service[:port-name]` entry. */
export function parseServiceEntry(entry: string, defaultNamespace: string, defaultPortName: string): ServiceWatchConfig {
  const fail = (why: string): never => {
    throw new KubernetesConfigError(`LOOKASIDE_K8S_SERVICES entry "${entry}": ${why}`);
  };
  let rest = entry;
  let name: string | undefined;
  const eq = rest.indexOf('=');
  if (eq >= 0) {
    name = rest.slice(0, eq);
    rest = rest.slice(eq + 1);
    if (name === '' || name.length > 255) fail('the lookaside name must be 1 to 255 characters');
  }
  let port: PortSelector = { name: defaultPortName, strict: false };
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    const portName = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (portName !== '' && !PORT_NAME.test(portName)) fail(`"${portName}" is not a valid port name`);
    port = { name: portName, strict: true };
  }
  let namespace = defaultNamespace;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    namespace = rest.slice(0, slash);
    rest = rest.slice(slash + 1);
    if (!DNS_LABEL.test(namespace)) fail(`"${namespace}" is not a valid namespace`);
  }
  const service = rest;
  if (!DNS_LABEL.test(service)) fail(`"${service}" is not a valid Service name`);
  return { name: name ?? service, namespace, service, port };
}

function detectNamespace(env: NodeJS.ProcessEnv, probe: ConfigProbe): string {
  const explicit = env.LOOKASIDE_K8S_NAMESPACE?.trim() || env.POD_NAMESPACE?.trim();
  if (explicit) return explicit;
  const file = `${SERVICE_ACCOUNT_DIR}/namespace`;
  try {
    if (probe.exists(file)) {
      const ns = probe.read(file).trim();
      if (ns) return ns;
    }
  } catch {
    // fall through to the default
  }
  return 'default';
}

/** Read the configuration from `env` (process.env by default). Throws KubernetesConfigError on bad input. */
export function loadKubernetesConfig(env: NodeJS.ProcessEnv = process.env, probe: ConfigProbe = realProbe): KubernetesConfig {
  const modeRaw = (env.LOOKASIDE_K8S ?? 'auto').trim().toLowerCase() || 'auto';
  if (modeRaw !== 'auto' && modeRaw !== 'on' && modeRaw !== 'off') {
    throw new KubernetesConfigError(`LOOKASIDE_K8S must be auto, on or off, got "${env.LOOKASIDE_K8S}"`);
  }
  const mode = modeRaw as KubernetesMode;

  const defaultPortName = (env.LOOKASIDE_K8S_PORT_NAME ?? 'grpc').trim();
  if (defaultPortName !== '' && !PORT_NAME.test(defaultPortName)) {
    throw new KubernetesConfigError(`LOOKASIDE_K8S_PORT_NAME "${defaultPortName}" is not a valid port name`);
  }
  const serviceLabel = (env.LOOKASIDE_K8S_SERVICE_LABEL ?? 'lookaside.io/service').trim();
  const portLabel = (env.LOOKASIDE_K8S_PORT_LABEL ?? 'lookaside.io/port-name').trim();
  const serviceAccountLabel = (env.LOOKASIDE_K8S_SERVICE_ACCOUNT_LABEL ?? 'lookaside.io/service-account').trim();
  for (const [key, value] of [
    ['LOOKASIDE_K8S_SERVICE_LABEL', serviceLabel],
    ['LOOKASIDE_K8S_PORT_LABEL', portLabel],
    ['LOOKASIDE_K8S_SERVICE_ACCOUNT_LABEL', serviceAccountLabel],
  ]) {
    if (!LABEL_KEY.test(value)) throw new KubernetesConfigError(`${key} "${value}" is not a valid label key`);
  }
  const addressType = (env.LOOKASIDE_K8S_ADDRESS_TYPE ?? 'IPv4').trim() || 'IPv4';
  if (addressType !== 'IPv4' && addressType !== 'IPv6') {
    throw new KubernetesConfigError(`LOOKASIDE_K8S_ADDRESS_TYPE must be IPv4 or IPv6, got "${addressType}"`);
  }
  const backoffMinMs = positiveInt(env, 'LOOKASIDE_K8S_BACKOFF_MIN_MS', 500);
  const backoffMaxMs = positiveInt(env, 'LOOKASIDE_K8S_BACKOFF_MAX_MS', 30_000);
  if (backoffMaxMs < backoffMinMs) {
    throw new KubernetesConfigError('LOOKASIDE_K8S_BACKOFF_MAX_MS must not be below LOOKASIDE_K8S_BACKOFF_MIN_MS');
  }

  const tokenReview = loadTokenReviewConfig(env);

  const defaultNamespace = detectNamespace(env, probe);
  const entries = (env.LOOKASIDE_K8S_SERVICES ?? '').split(/[\s,]+/).filter((s) => s !== '');
  const services = entries.map((e) => parseServiceEntry(e, defaultNamespace, defaultPortName));
  const seen = new Set<string>();
  for (const s of services) {
    if (seen.has(s.name)) throw new KubernetesConfigError(`LOOKASIDE_K8S_SERVICES names "${s.name}" twice`);
    seen.add(s.name);
  }
  const discoveryNamespaces = (env.LOOKASIDE_K8S_DISCOVERY_NAMESPACES ?? '')
    .split(/[\s,]+/)
    .filter((s) => s !== '');
  for (const ns of discoveryNamespaces) {
    if (ns !== '*' && !DNS_LABEL.test(ns)) {
      throw new KubernetesConfigError(`LOOKASIDE_K8S_DISCOVERY_NAMESPACES: "${ns}" is not a valid namespace`);
    }
  }
  const normalisedDiscovery = discoveryNamespaces.includes('*') ? ['*'] : [...new Set(discoveryNamespaces)];

  const credentials: KubernetesConfig['credentials'] = env.KUBECONFIG?.trim()
    ? 'kubeconfig'
    : env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && probe.exists(`${SERVICE_ACCOUNT_DIR}/token`)
      ? 'in-cluster'
      : 'none';

  const configured = services.length > 0 || normalisedDiscovery.length > 0;
  let enabled = false;
  let disabledReason: string | undefined;
  if (mode === 'off') {
    disabledReason = 'LOOKASIDE_K8S=off';
  } else if (!configured) {
    disabledReason = 'nothing to watch (LOOKASIDE_K8S_SERVICES and LOOKASIDE_K8S_DISCOVERY_NAMESPACES are empty)';
  } else if (credentials === 'none') {
    disabledReason = 'no Kubernetes credentials (neither KUBECONFIG nor an in-cluster service account)';
  } else {
    enabled = true;
  }
  if (mode === 'on' && !enabled) {
    throw new KubernetesConfigError(`LOOKASIDE_K8S=on but ${disabledReason}`);
  }

  return {
    mode,
    enabled,
    disabledReason,
    credentials,
    services,
    discoveryNamespaces: normalisedDiscovery,
    serviceLabel,
    portLabel,
    defaultPortName,
    addressType,
    backoffMinMs,
    backoffMaxMs,
    serviceAccountLabel,
    tokenReview,
  };
}

function loadTokenReviewConfig(env: NodeJS.ProcessEnv): TokenReviewConfig {
  const audiences = [
    ...new Set((env.LOOKASIDE_AUTH_K8S_AUDIENCES ?? '').split(',').map((a) => a.trim()).filter((a) => a !== '')),
  ];
  return {
    audiences: audiences.length > 0 ? audiences : ['lookaside'],
    cacheTtlMs: positiveInt(env, 'LOOKASIDE_AUTH_K8S_CACHE_TTL_MS', 60_000),
    negativeCacheTtlMs: positiveInt(env, 'LOOKASIDE_AUTH_K8S_NEGATIVE_CACHE_TTL_MS', 5_000),
    cacheSize: positiveInt(env, 'LOOKASIDE_AUTH_K8S_CACHE_SIZE', 10_000),
    timeoutMs: positiveInt(env, 'LOOKASIDE_AUTH_K8S_TIMEOUT_MS', 5_000),
  };
}
