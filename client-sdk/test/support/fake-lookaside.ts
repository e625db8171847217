// A scripted stand-in for the lookaside service, for the SDK's own tests: a real grpc-js
// server speaking lookaside.v1 (Assignments/Watch and Reports/Report) over loopback, whose
// answers the test sets. The real service is exercised in integration.test.ts.
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import type { Assignment } from '../../src/generated/lookaside/v1/Assignment.js';
import type { ClientLoad__Output } from '../../src/generated/lookaside/v1/ClientLoad.js';
import type { ReportRequest__Output } from '../../src/generated/lookaside/v1/ReportRequest.js';
import type { ReportResponse } from '../../src/generated/lookaside/v1/ReportResponse.js';
import type { WatchRequest__Output } from '../../src/generated/lookaside/v1/WatchRequest.js';
import { lookasideProtos } from '../../src/protos.js';

type WatchCall = ServerDuplexStream<WatchRequest__Output, Assignment>;
type ReportCall = ServerDuplexStream<ReportRequest__Output, ReportResponse>;

export interface ReportStream {
  messages: ReportRequest__Output[];
  /** 'open' until the client half-closes ('ended') or the stream breaks ('broken'). */
  state: 'open' | 'ended' | 'broken';
  call: ReportCall;
}

export class FakeLookaside {
  readonly server = new Server();
  port = 0;
  private assignments = new Map<string, Assignment>();
  private watchers = new Set<{ service: string; call: WatchCall }>();
  readonly clientLoads: ClientLoad__Output[] = [];
  readonly watchStarts: string[] = [];
  readonly reportStreams: ReportStream[] = [];
  /** The ReportResponse to send for each accepted message. */
  reportResponse: ReportResponse = { backendId: '', loadBalanceToken: 'tok', reportInterval: { seconds: 0, nanos: 100e6 } };

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(port = 0): Promise<FakeLookaside> {
    const f = new FakeLookaside();
    const protos = lookasideProtos();
    f.server.addService(protos.assignments.lookaside.v1.Assignments.service, {
      Watch: (call: WatchCall) => f.onWatch(call),
    });
    f.server.addService(protos.reports.lookaside.v1.Reports.service, {
      Report: (call: ReportCall) => f.onReport(call),
    });
    f.port = await new Promise<number>((resolve, reject) =>
      f.server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    return f;
  }

  /** Sets the service's assignment and pushes it to every watcher of the service. */
  push(service: string, assignment: Assignment): void {
    const full = { service, ...assignment };
    this.assignments.set(service, full);
    for (const w of this.watchers) if (w.service === service) w.call.write(full);
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** Ends every Watch stream with an error, as a crashing replica would. */
  breakWatches(): void {
    for (const w of this.watchers) w.call.destroy(new Error('fake lookaside: stream broken'));
    this.watchers.clear();
  }

  stop(): void {
    this.watchers.clear();
    this.server.forceShutdown();
  }

  private onWatch(call: WatchCall): void {
    let entry: { service: string; call: WatchCall } | null = null;
    call.on('data', (req: WatchRequest__Output) => {
      if (req.start && !entry) {
        entry = { service: req.start.service, call };
        this.watchStarts.push(req.start.service);
        this.watchers.add(entry);
        const a = this.assignments.get(req.start.service);
        if (a) call.write(a);
      } else if (req.clientLoad) {
        this.clientLoads.push(req.clientLoad);
      }
    });
    const done = () => {
      if (entry) this.watchers.delete(entry);
    };
    call.on('end', () => {
      done();
      call.end();
    });
    call.on('error', done);
    call.on('cancelled', done);
  }

  private onReport(call: ReportCall): void {
    const stream: ReportStream = { messages: [], state: 'open', call };
    this.reportStreams.push(stream);
    call.on('data', (req: ReportRequest__Output) => {
      stream.messages.push(req);
      call.write({ ...this.reportResponse, accepted: stream.messages.length });
    });
    call.on('end', () => {
      if (stream.state === 'open') stream.state = 'ended';
      call.end();
    });
    call.on('error', () => {
      if (stream.state === 'open') stream.state = 'broken';
    });
    call.on('cancelled', () => {
      if (stream.state === 'open') stream.state = 'broken';
    });
  }
}
