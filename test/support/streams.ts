import * as grpc from '@grpc/grpc-js';
import type { LoadBalanceResponse__Output } from '../../src/generated/grpc/lb/v1/LoadBalanceResponse.js';
import type { LoadBalanceRequest } from '../../src/generated/grpc/lb/v1/LoadBalanceRequest.js';
import type { ReportRequest } from '../../src/generated/lookaside/v1/ReportRequest.js';
import type { ReportResponse__Output } from '../../src/generated/lookaside/v1/ReportResponse.js';
import type { Load } from '../../src/generated/lookaside/v1/Load.js';
import type { ServingState } from '../../src/generated/lookaside/v1/ServingState.js';
import type { Clients } from './protos.js';
import { waitFor } from './ports.js';

/** Everything a bidi stream has received, and how it ended. */
export class Recorded<Res> {
  readonly messages: Res[] = [];
  status: grpc.StatusObject | undefined;
  error: grpc.ServiceError | undefined;

  constructor(stream: grpc.ClientDuplexStream<any, Res>) {
    stream.on('data', (m: Res) => this.messages.push(m));
    stream.on('status', (s: grpc.StatusObject) => (this.status = s));
    stream.on('error', (e: grpc.ServiceError) => (this.error = e));
  }

  /** Waits for a message (received from index `from` on) that satisfies `match`. */
  next(what: string, match: (m: Res) => boolean, from = 0, timeoutMs = 5000): Promise<Res> {
    return waitFor(what, () => this.messages.slice(from).find(match), timeoutMs, 5);
  }

  ended(timeoutMs = 5000): Promise<grpc.StatusObject> {
    return waitFor('the stream to end', () => this.status, timeoutMs, 5);
  }
}

/** A test client speaking grpc.lb.v1 BalanceLoad as grpc-go or C-core would. */
export function openBalanceLoad(c: Clients, name?: string, metadata = new grpc.Metadata()) {
  const stream = c.loadBalancer.BalanceLoad(metadata);
  const recorded = new Recorded<LoadBalanceResponse__Output>(stream);
  if (name !== undefined) stream.write({ initialRequest: { name } } satisfies LoadBalanceRequest);
  /** The backends ("host:port" with token) of the latest ServerList. */
  const latestList = (): Array<{ address: string; token: string; drop: boolean }> | undefined => {
    for (let i = recorded.messages.length - 1; i >= 0; i--) {
      const m = recorded.messages[i];
      if (m.fallbackResponse) return [];
      if (m.serverList) {
        return m.serverList.servers.map((s) => ({
          address: `${s.ipAddress.length === 4 ? [...s.ipAddress].join('.') : s.ipAddress.toString('hex')}:${s.port}`,
          token: s.loadBalanceToken,
          drop: s.drop,
        }));
      }
    }
    return undefined;
  };
  const distinct = () => [...new Set((latestList() ?? []).map((s) => s.address))].sort();
  return {
    stream,
    recorded,
    latestList,
    /** Waits until the latest list names exactly `addresses` (any order, repeats allowed). */
    waitForBackends: (addresses: string[], timeoutMs = 5000) =>
      waitFor(
        `server list ${addresses.join(',')} (latest: ${distinct().join(',')})`,
        () => (JSON.stringify(distinct()) === JSON.stringify([...addresses].sort()) ? Date.now() : undefined),
        timeoutMs,
        2,
      ),
  };
}

export const steadyLoad = (rps = 100, cpu = 0.5): Load => ({
  cpuUtilization: cpu,
  memUtilization: 0.3,
  rpsFractional: rps,
  eps: 0,
  requestsInFlight: 2,
});

/** A backend's report stream, driven by hand. */
export function openReport(c: Clients, metadata = new grpc.Metadata()) {
  const stream = c.reports.Report(metadata);
  const recorded = new Recorded<ReportResponse__Output>(stream);
  return {
    stream,
    recorded,
    register(service: string, host: string, port: number, extra: Partial<NonNullable<ReportRequest['registration']>> = {}) {
      stream.write({ registration: { service, host, port, ...extra } } satisfies ReportRequest);
    },
    report(load: Load = steadyLoad(), state: ServingState = 'SERVING') {
      stream.write({ loadReport: { load, state } } satisfies ReportRequest);
    },
    /** Registration acknowledged. */
    registered: () => recorded.next('registration ack', (m) => m.accepted >= 1),
  };
}

/** Call metadata carrying `authorization: Bearer <token>`. */
export function bearer(token: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}
