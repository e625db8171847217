// The balancers as a load generator sees them: something that starts a call and says which
// backend answered. All but the oracle are plain grpc-js channels with a different target
// or service config; the oracle is in oracle.ts.
import { Client, credentials, type ChannelOptions } from '@grpc/grpc-js';
import { registerLookaside } from '../../client-sdk/src/index.js';
import type { BalancerName } from './config.js';
import { callOn, CHANNEL_OPTIONS, waitReady, type Done } from './calls.js';
import { JsqDispatcher } from './oracle.js';

/** What a generator is told about one balancer's fleet. */
export interface BalancerSpec {
  name: BalancerName;
  /** 127.0.0.1 ports of every backend the fleet will have in this scenario, by backend id. */
  ports: number[];
  /** Backend ids up when the scenario starts. */
  initial: number[];
  /** lookaside: the lookaside:// target. */
  lookasideTarget?: string;
  /** connection: the backend this client process holds its one connection to. */
  connectTo?: number;
  /** wrr_orca: the weighted_round_robin config. */
  wrr?: Record<string, unknown>;
}

export interface Caller {
  /** Starts a call asking for `request` (see encodeWork). */
  call(deadlineMs: number, request: Buffer, done: Done): void;
  /** Resolves once the balancer can place calls. */
  ready(timeoutMs: number): Promise<void>;
  /** A backend has started (scale-up). Only the oracle needs telling: the others learn it themselves. */
  backendStarted(id: number): void;
  close(): void;
}

const ipv4List = (ports: number[]) => `ipv4:${ports.map((p) => `127.0.0.1:${p}`).join(',')}`;
const serviceConfig = (lb: Record<string, unknown>) => JSON.stringify({ loadBalancingConfig: [lb] });

class ChannelCaller implements Caller {
  private readonly client: Client;
  constructor(target: string, options: ChannelOptions) {
    this.client = new Client(target, credentials.createInsecure(), { ...CHANNEL_OPTIONS, ...options });
  }
  call(deadlineMs: number, request: Buffer, done: Done): void {
    callOn(this.client, deadlineMs, request, done);
  }
  ready(timeoutMs: number): Promise<void> {
    return waitReady(this.client, timeoutMs);
  }
  backendStarted(): void {}
  close(): void {
    this.client.close();
  }
}

let lookasideRegistered = false;

export function makeCaller(spec: BalancerSpec): Caller {
  switch (spec.name) {
    case 'connection':
      // A Kubernetes Service: one long-lived connection from this client to one backend.
      return new ChannelCaller(ipv4List([spec.ports[spec.connectTo!]]), {});
    case 'round_robin':
      // Headless Service + DNS: a static list of every backend the fleet will have (ports of
      // the late ones refuse connections until they start; the short backoff finds them).
      return new ChannelCaller(ipv4List(spec.ports), { 'grpc.service_config': serviceConfig({ round_robin: {} }) });
    case 'wrr_orca':
      return new ChannelCaller(ipv4List(spec.ports), { 'grpc.service_config': serviceConfig({ weighted_round_robin: spec.wrr ?? {} }) });
    case 'lookaside':
      if (!lookasideRegistered) {
        registerLookaside({});
        lookasideRegistered = true;
      }
      return new ChannelCaller(spec.lookasideTarget!, {});
    case 'oracle':
      return new JsqDispatcher(spec.ports, spec.initial);
  }
}
