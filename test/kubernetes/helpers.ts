import { KubeConfig } from '@kubernetes/client-node';
import type { Slice, SliceEndpoint } from './fake-apiserver.js';

/** A KubeConfig pointing at a fake apiserver on loopback. */
export function kubeConfigFor(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server, skipTLSVerify: true }],
    users: [{ name: 'fake', token: 'fake-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
    currentContext: 'fake',
  });
  return kc;
}

/** The i-th test address, 10.1.x.y. */
export function ip(i: number): string {
  return `10.1.${(i >> 8) & 255}.${i & 255}`;
}

export function endpoint(i: number, conditions: SliceEndpoint['conditions'] = { ready: true, serving: true, terminating: false }): SliceEndpoint {
  return {
    addresses: [ip(i)],
    conditions,
    nodeName: `node-${i % 7}`,
    zone: `zone-${'abc'[i % 3]}`,
    targetRef: { kind: 'Pod', name: `pod-${i}`, namespace: 'demo' },
  };
}

export function slice(
  name: string,
  service: string,
  endpoints: SliceEndpoint[],
  opts: { namespace?: string; port?: number; portName?: string; addressType?: Slice['addressType']; labels?: Record<string, string> } = {},
): Slice {
  return {
    metadata: {
      name,
      namespace: opts.namespace ?? 'demo',
      labels: {
        'kubernetes.io/service-name': service,
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
        ...opts.labels,
      },
    },
    addressType: opts.addressType ?? 'IPv4',
    endpoints,
    ports: [
      { name: 'metrics', port: 9090, protocol: 'TCP' },
      { name: opts.portName ?? 'grpc', port: opts.port ?? 50051, protocol: 'TCP' },
    ],
  };
}

/** Endpoints i in [from, to). */
export function range(from: number, to: number, conditions?: SliceEndpoint['conditions']): SliceEndpoint[] {
  const out: SliceEndpoint[] = [];
  for (let i = from; i < to; i++) out.push(endpoint(i, conditions));
  return out;
}

/** Polls `cond` every 5 ms until it holds; fails after `timeoutMs` with `what`. */
export async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
