/**
 * Pure EndpointSlice (discovery.k8s.io/v1) helpers: no I/O, no clock.
 *
 * A Service's endpoints are spread over several slices (at most 100 endpoints each by default),
 * so the membership of a Service is the union of ALL its slices, never the latest one only. The
 * same address may briefly appear in two slices while the EndpointSlice controller moves it; the
 * merge below keeps it once.
 */
import type { V1EndpointSlice } from '@kubernetes/client-node';
import type { ClusterMember } from '../store/types.js';

/**
 * One backend address as Kubernetes sees it: what the store keeps, plus what a pod-bound
 * ServiceAccount token is checked against (the store does not need those two).
 */
export interface ClusterEndpoint extends ClusterMember {
  /** metadata.namespace of the slice (= of the Service and its pods). */
  namespace: string;
  /** Value of the slice's MergeOptions.serviceAccountLabel label, '' when absent. */
  serviceAccount: string;
}

/** Address family of the slices to use; a dual-stack Service has one set of slices per family. */
export type AddressType = 'IPv4' | 'IPv6';

/** How a slice's port is chosen. */
export interface PortSelector {
  /**
   * The Service port name to use. A name given explicitly must exist in the slice (an unnamed
   * port has the name ''). When `strict` is false (no name configured), the port named `name`
   * is preferred and a slice with exactly one port falls back to that port.
   */
  name: string;
  strict: boolean;
}

export interface MergeOptions {
  /** Only slices of this address type are merged (default IPv4). */
  addressType?: AddressType;
  /**
   * Label whose value becomes each endpoint's `serviceAccount`; slices carry their Service's
   * labels, so this is the ServiceAccount the Service's owner names. Unset: always ''.
   */
  serviceAccountLabel?: string;
}

/**
 * The port of `slice` selected by `selector`, or undefined when the slice has none that fits
 * (such a slice contributes no endpoint). `portName` may be a plain string (strict match).
 */
export function resolveSlicePort(
  slice: Pick<V1EndpointSlice, 'ports'>,
  selector: PortSelector | string,
): number | undefined {
  const sel: PortSelector = typeof selector === 'string' ? { name: selector, strict: true } : selector;
  const ports = slice.ports ?? [];
  const valid = (p: number | undefined | null): p is number =>
    typeof p === 'number' && Number.isInteger(p) && p > 0 && p < 65536;
  const named = ports.find((p) => (p.name ?? '') === sel.name && (p.protocol ?? 'TCP') === 'TCP');
  if (named) return valid(named.port) ? named.port : undefined;
  if (!sel.strict && ports.length === 1 && (ports[0].protocol ?? 'TCP') === 'TCP' && valid(ports[0].port)) {
    return ports[0].port;
  }
  return undefined;
}

/** Rank used to pick one copy of an address listed twice: ready beats serving beats neither. */
function rank(e: ClusterEndpoint): number {
  return (e.ready ? 4 : 0) + (e.serving ? 2 : 0) + (e.terminating ? 0 : 1);
}

function compareEndpoints(a: ClusterEndpoint, b: ClusterEndpoint): number {
  if (a.host !== b.host) return a.host < b.host ? -1 : 1;
  return a.port - b.port;
}

/**
 * Merge every slice of one Service into one endpoint list.
 *
 * - Slices of another address type (and FQDN slices) are ignored.
 * - The port is resolved per slice by name (see {@link resolveSlicePort}).
 * - Conditions follow the API's nil rules: ready nil = true, serving nil = ready, terminating nil =
 *   false.
 * - An address that appears more than once (in two slices during a move, or as several addresses
 *   of one endpoint) is kept once: the copy with the best conditions wins, ties by slice name.
 * - The result is sorted by host then port, so two replicas that see the same slices produce the
 *   same list.
 */
export function mergeSlices(
  slices: readonly V1EndpointSlice[],
  portName: PortSelector | string,
  options: MergeOptions = {},
): ClusterEndpoint[] {
  const addressType = options.addressType ?? 'IPv4';
  const ordered = [...slices].sort((a, b) => {
    const an = `${a.metadata?.namespace ?? ''}/${a.metadata?.name ?? ''}`;
    const bn = `${b.metadata?.namespace ?? ''}/${b.metadata?.name ?? ''}`;
    return an < bn ? -1 : an > bn ? 1 : 0;
  });
  const byAddress = new Map<string, ClusterEndpoint>();
  for (const slice of ordered) {
    if (slice.addressType !== addressType) continue;
    const port = resolveSlicePort(slice, portName);
    if (port === undefined) continue;
    const namespace = slice.metadata?.namespace ?? '';
    const serviceAccount = options.serviceAccountLabel ? (slice.metadata?.labels?.[options.serviceAccountLabel] ?? '') : '';
    for (const ep of slice.endpoints ?? []) {
      const c = ep.conditions ?? {};
      const ready = c.ready ?? true;
      const serving = c.serving ?? ready;
      const terminating = c.terminating ?? false;
      const podName = ep.targetRef && (ep.targetRef.kind ?? 'Pod') === 'Pod' ? (ep.targetRef.name ?? '') : '';
      for (const address of ep.addresses ?? []) {
        if (typeof address !== 'string' || address === '') continue;
        const candidate: ClusterEndpoint = {
          host: address,
          port,
          ready,
          serving,
          terminating,
          zone: ep.zone ?? '',
          nodeName: ep.nodeName ?? '',
          podName,
          namespace,
          serviceAccount,
        };
        const key = `${address}|${port}`;
        const existing = byAddress.get(key);
        if (!existing || rank(candidate) > rank(existing)) byAddress.set(key, candidate);
      }
    }
  }
  return [...byAddress.values()].sort(compareEndpoints);
}

/**
 * Union of several merged lists (e.g. several Services labelled for one lookaside service), with
 * the same rule for an address listed twice, sorted by host then port.
 */
export function unionEndpoints(lists: readonly (readonly ClusterEndpoint[])[]): ClusterEndpoint[] {
  if (lists.length === 1) return [...lists[0]];
  const byAddress = new Map<string, ClusterEndpoint>();
  for (const list of lists) {
    for (const e of list) {
      const key = `${e.host}|${e.port}`;
      const existing = byAddress.get(key);
      if (!existing || rank(e) > rank(existing)) byAddress.set(key, e);
    }
  }
  return [...byAddress.values()].sort(compareEndpoints);
}

/** True when two merged lists are equal field by field (both sorted by {@link mergeSlices}). */
export function sameEndpoints(a: readonly ClusterEndpoint[] | undefined, b: readonly ClusterEndpoint[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (
      x.host !== y.host ||
      x.port !== y.port ||
      x.ready !== y.ready ||
      x.serving !== y.serving ||
      x.terminating !== y.terminating ||
      x.zone !== y.zone ||
      x.nodeName !== y.nodeName ||
      x.podName !== y.podName ||
      x.namespace !== y.namespace ||
      x.serviceAccount !== y.serviceAccount
    ) {
      return false;
    }
  }
  return true;
}
