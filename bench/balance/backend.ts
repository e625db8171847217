// Child process: the backends of every balancer's fleet (one process, so that an event-loop
// stall delays every fleet alike, and the run starts fewer processes). Each backend is a grpc-js Server that emulates
// capacity with a queue in front of `workers` timers (exponential service time), so latency
// comes from queueing, not from this machine's CPU. Each one serves ORCA and runs the SDK's
// BackendReporter, which reports the same numbers to both: application utilization = the
// workers' busy fraction since the previous report, qps and eps from the reporter's own
// counts. Controlled by the runner over IPC (start, set slowdown/failure rate, stop, stats).
import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { BackendReporter } from '../../client-sdk/src/index.js';
import { bump, CALL_METHOD, decodeWork, integrate, serve, type Envelope } from './wire.js';

const now = () => performance.timeOrigin + performance.now();

interface Job {
  call: ServerUnaryCall<Buffer, Buffer>;
  callback: sendUnaryData<Buffer>;
  startedAt: number;
  drawnMs: number;
  /** The call's size: its service time over the mean (see encodeWork). */
  size: number;
}

/** Per-bin time series of one backend, bins of binMs from the runner's epoch. */
export interface BackendSeries {
  /** Calls that reached the backend. */
  arrivals: number[];
  /** Calls failed on purpose (failRate). */
  failed: number[];
  /** Calls served. */
  done: number[];
  /** Calls whose deadline passed while they queued (skipped, never served). */
  expired: number[];
  /** Busy workers x ms. */
  busyMs: number[];
  /** Queued calls x ms. */
  queueMs: number[];
  /** Service times drawn, and as they turned out (timers fire late when the event loop is busy), ms, by finish bin. */
  drawnMs: number[];
  servedMs: number[];
}

const emptySeries = (): BackendSeries => ({ arrivals: [], failed: [], done: [], expired: [], busyMs: [], queueMs: [], drawnMs: [], servedMs: [] });

class EmulatedBackend {
  readonly reply: Buffer;
  readonly server: Server;
  readonly reporter: BackendReporter;
  slowdown: number;
  failRate = 0;
  private busy = 0;
  private readonly queue: Job[] = [];
  private lastChange = now();
  private busyTotal = 0;
  private lastHook = { at: now(), busyTotal: 0 };
  series = emptySeries();
  epoch = now();

  constructor(
    readonly id: number,
    readonly workers: number,
    readonly serviceMs: number,
    slowdown: number,
    service: string,
    lookasideAddress: string,
    readonly binMs: number,
  ) {
    this.reply = Buffer.from(`b${id}`);
    this.slowdown = slowdown;
    this.reporter = new BackendReporter({
      service,
      lookasideAddress,
      host: '127.0.0.1',
      orca: true,
      labels: { backend: `b${id}` },
      applicationUtilization: () => this.utilizationSinceLastReport(),
      namedMetrics: () => ({ queue: this.queue.length, busy_workers: this.busy }),
    });
    this.server = new Server({ interceptors: [this.reporter.interceptor] });
    this.server.addService({ call: CALL_METHOD }, { call: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => this.handle(call, cb) });
    this.reporter.attach(this.server);
  }

  async start(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    this.reporter.start({ port });
    await this.reporter.whenRegistered(10_000);
  }

  async stop(): Promise<void> {
    await this.reporter.stop();
    this.server.forceShutdown();
    this.account(now());
  }

  resetSeries(epoch: number): void {
    this.account(now());
    this.series = emptySeries();
    this.epoch = epoch;
  }

  /** Folds the time up to now into the integrals. */
  flush(): void {
    this.account(now());
  }

  private bin(t: number): number {
    return Math.floor((t - this.epoch) / this.binMs);
  }

  /** Integrates busy workers and queue length up to `t`; call before either changes. */
  private account(t: number): void {
    const from = this.lastChange - this.epoch;
    const to = t - this.epoch;
    integrate(this.series.busyMs, this.binMs, from, to, this.busy);
    integrate(this.series.queueMs, this.binMs, from, to, this.queue.length);
    this.busyTotal += this.busy * (t - this.lastChange);
    this.lastChange = t;
  }

  private utilizationSinceLastReport(): number {
    const t = now();
    this.account(t);
    const elapsed = t - this.lastHook.at;
    const u = elapsed > 0 ? (this.busyTotal - this.lastHook.busyTotal) / (this.workers * elapsed) : 0;
    this.lastHook = { at: t, busyTotal: this.busyTotal };
    return u;
  }

  private handle(call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void {
    const t = now();
    bump(this.series.arrivals, this.bin(t));
    const work = decodeWork(call.request);
    if (work.failDraw < this.failRate) {
      bump(this.series.failed, this.bin(t));
      callback({ code: status.INTERNAL, details: `b${this.id}: injected failure` });
      return;
    }
    this.account(t);
    this.queue.push({ call, callback, startedAt: 0, drawnMs: 0, size: work.size });
    this.dispatch(t);
  }

  private dispatch(t: number): void {
    while (this.busy < this.workers && this.queue.length > 0) {
      this.account(t);
      const job = this.queue.shift()!;
      // A real server checks the call's context before starting work: a call whose deadline
      // passed while it queued is skipped. One already in service runs to the end.
      if (job.call.cancelled) {
        bump(this.series.expired, this.bin(t));
        continue;
      }
      this.busy++;
      job.startedAt = t;
      job.drawnMs = job.size * this.serviceMs * this.slowdown;
      setTimeout(() => this.finish(job), job.drawnMs);
    }
  }

  private finish(job: Job): void {
    const t = now();
    this.account(t);
    this.busy--;
    bump(this.series.done, this.bin(t));
    bump(this.series.drawnMs, this.bin(t), job.drawnMs);
    bump(this.series.servedMs, this.bin(t), t - job.startedAt);
    job.callback(null, this.reply);
    this.dispatch(t);
  }
}

/** By `fleet/id`. */
const backends = new Map<string, EmulatedBackend>();
let epoch = now();
const key = (m: Envelope) => `${String(m.fleet)}/${Number(m.id)}`;
const ofFleet = (fleet: unknown) => [...backends].filter(([k]) => k.startsWith(`${String(fleet)}/`));

function backend(m: Envelope): EmulatedBackend {
  const b = backends.get(key(m));
  if (!b) throw new Error(`no backend ${key(m)}`);
  return b;
}

serve(async (m: Envelope) => {
  switch (m.type) {
    case 'start': {
      const b = new EmulatedBackend(
        Number(m.id),
        Number(m.workers),
        Number(m.serviceMs),
        Number(m.slowdown),
        String(m.service),
        String(m.lookasideAddress),
        Number(m.binMs),
      );
      b.resetSeries(epoch);
      await b.start(Number(m.port));
      backends.set(key(m), b);
      return {};
    }
    case 'set': {
      const b = backend(m);
      if (typeof m.slowdown === 'number') b.slowdown = m.slowdown;
      if (typeof m.failRate === 'number') b.failRate = m.failRate;
      return {};
    }
    case 'epoch':
      epoch = Number(m.t0);
      for (const b of backends.values()) b.resetSeries(epoch);
      return {};
    case 'stats': {
      const out: Record<string, BackendSeries> = {};
      for (const [, b] of ofFleet(m.fleet)) {
        b.flush();
        out[b.id] = b.series;
      }
      return { backends: out };
    }
    case 'stop': {
      const b = backend(m);
      backends.delete(key(m));
      await b.stop();
      return {};
    }
    case 'stopFleet': {
      const all = ofFleet(m.fleet);
      for (const [k] of all) backends.delete(k);
      await Promise.all(all.map(([, b]) => b.stop()));
      return {};
    }
    default:
      throw new Error(`unknown command ${m.type}`);
  }
});
process.send!({ type: 'up' });
