// The backend reporter: registers a grpc-js server's address with the lookaside over
// lookaside.v1.Reports/Report, reports its load every interval (the lookaside may set it),
// reconnects with backoff, and drains gracefully. The stream is the backend's lease: ending
// it removes the backend at once; a broken stream leaves it listed until the lease expires,
// which is why a stream that had been acknowledged reconnects at once.
import {
  credentials,
  Metadata,
  ServerInterceptingCall,
  ServerMetricRecorder,
  status,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type ClientDuplexStream,
  type Server,
  type ServerInterceptor,
  type StatusObject,
} from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import { availableParallelism, networkInterfaces, totalmem } from 'node:os';
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { CALL_LOAD_TRAILER, encodeCallLoad } from './call-load-trailer.js';
import type { Load } from './generated/lookaside/v1/Load.js';
import type { ReportRequest } from './generated/lookaside/v1/ReportRequest.js';
import type { ReportResponse__Output } from './generated/lookaside/v1/ReportResponse.js';
import { CallTracker, memUtilization, safeMetric, windowLoad, type Snapshot, type WindowLoad } from './load-window.js';
import { LOOKASIDE_ADDRESS_ENV, lookasideTarget } from './options.js';
import { lookasideProtos } from './protos.js';
import { streamMetadata, tokenSource, type AuthTokenOptions, type TokenSource } from './auth-token.js';
import { durationMs } from './watch.js';

/** Reporter defaults; each is an option of BackendReporter (or of drain()). */
/**
 * Which statuses count as the backend's errors (eps). Calls the client cancelled or that ran
 * past their deadline do not: that is slowness, which utilization and calls in flight already
 * show, and counting it as failure would get a slow backend ejected instead of weighted down.
 */
function isBackendFailure(code: status): boolean {
  return code !== status.OK && code !== status.CANCELLED && code !== status.DEADLINE_EXCEEDED;
}

export const REPORTER_DEFAULTS = Object.freeze({
  /** Report interval until the lookaside's first acknowledgement sets its own. */
  reportIntervalMs: 1000,
  /** Shortest report interval honoured, whatever the lookaside asks. */
  minReportIntervalMs: 50,
  /** drain(): longest wait for clients to stop sending before closing anyway. */
  drainTimeoutMs: 30_000,
  /**
   * drain(): how long no call may start (with none in flight), after the lookaside has
   * acknowledged the DRAINING state, before the backend counts as drained. Covers the time
   * the lookaside takes to push the new assignment and clients take to apply it.
   */
  drainQuietPeriodMs: 1000,
  /** drain()/stop(): longest wait for the lookaside to confirm the deregistration. */
  deregisterTimeoutMs: 2000,
  /** drain(): longest graceful server shutdown (tryShutdown) before forceShutdown. */
  shutdownTimeoutMs: 10_000,
  /** Reconnect backoff of the Report stream (an acknowledged stream reconnects at once). */
  backoff: DEFAULT_BACKOFF,
  /** HTTP/2 keepalive on the connection to the lookaside. */
  keepaliveTimeMs: 20_000,
  keepaliveTimeoutMs: 10_000,
  /** Per-call load in the trailer of every tracked call (see BackendReporterOptions.perCallLoad). */
  perCallLoad: true,
  /** Calls under these method prefixes are not counted (long-lived or infrastructure streams). */
  untrackedMethodPrefixes: Object.freeze([
    '/xds.service.orca.v3.',
    '/grpc.health.v1.',
    '/grpc.reflection.',
    '/grpc.channelz.',
  ]) as readonly string[],
});

export type ServingState = 'SERVING' | 'NOT_SERVING' | 'DRAINING';

/** What the reporter measured over the last window, handed to the user's hooks. */
export interface LoadSample extends WindowLoad {
  requestsInFlight: number;
  memUtilization: number;
}

export interface BackendReporterOptions extends AuthTokenOptions {
  /** The service name clients use (`echo` for lookaside:///echo). Required. */
  service: string;
  /** The lookaside's address, as for registerLookaside(). Default: $LOOKASIDE_ADDRESS. */
  lookasideAddress?: string;
  /** IP literal clients should dial. Default: $POD_IP, else the first non-internal IPv4, else 127.0.0.1. */
  host?: string;
  /** Port clients should dial; may instead be given to start(). */
  port?: number;
  /** Topology zone. Default: ''. */
  zone?: string;
  /** Free-form labels passed on to lookaside.v1 clients. */
  labels?: Record<string, string>;
  /** Credentials for the connection to the lookaside. Default: insecure. */
  credentials?: ChannelCredentials;
  /** Extra grpc-js options for the connection to the lookaside. */
  channelOptions?: ChannelOptions;
  /** See REPORTER_DEFAULTS.reportIntervalMs. */
  reportIntervalMs?: number;
  /**
   * Application utilization, 0 to 1 (more when overloaded), computed by the user; the
   * lookaside prefers it to cpu. Called once per report with what was measured.
   */
  applicationUtilization?: (sample: LoadSample) => number;
  /** Anything else to publish (queue depth...). Called once per report. */
  namedMetrics?: () => Record<string, number>;
  /** Cores the process may use, for cpu_utilization. Default: os.availableParallelism(). */
  cpuCount?: number;
  backoff?: BackoffOptions;
  drainTimeoutMs?: number;
  drainQuietPeriodMs?: number;
  deregisterTimeoutMs?: number;
  shutdownTimeoutMs?: number;
  /** Method path prefixes not counted. Default: REPORTER_DEFAULTS.untrackedMethodPrefixes. */
  untrackedMethodPrefixes?: readonly string[];
  /**
   * Also serve ORCA (xds.service.orca.v3.OpenRcaService) with the same numbers, so that
   * clients that are not ours (grpc-js/grpc-go weighted_round_robin) can weight by them.
   * Needs attach(server). Default: false.
   */
  orca?: boolean;
  /**
   * Put this backend's requests in flight (and its latest utilization) in every call's
   * trailer, ORCA per-call style (`endpoint-load-metrics-bin`), so that lookaside clients see
   * its queue at each answer instead of at each report. Default: REPORTER_DEFAULTS.perCallLoad.
   */
  perCallLoad?: boolean;
}

export interface DrainOptions {
  timeoutMs?: number;
  quietPeriodMs?: number;
  /** Shut the attached server down once drained. Default: true. */
  shutdownServer?: boolean;
}

export interface DrainResult {
  /** Time from drain() to the end of the wait for clients, ms. */
  waitedMs: number;
  /** True when the drain timeout ended the wait, not quiet. */
  timedOut: boolean;
  /** Calls in flight when the backend deregistered. */
  inFlightAtClose: number;
  /** How the server closed: 'graceful', 'forced', or 'none' (no server or shutdownServer false). */
  shutdown: 'graceful' | 'forced' | 'none';
}

export interface Registration {
  backendId: string;
  token: string;
}

function defaultHost(): string {
  if (process.env.POD_IP) return process.env.POD_IP;
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') return a.address;
  }
  return '127.0.0.1';
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** How often drain() checks whether clients have stopped. */
const DRAIN_POLL_MS = 10;

/**
 * Reports a grpc-js server to the lookaside.
 *
 *     const reporter = new BackendReporter({ service: 'echo' });
 *     const server = new Server({ interceptors: [reporter.interceptor] });
 *     server.addService(...); reporter.attach(server);
 *     const port = await bind(server);  reporter.start({ port });
 *     process.on('SIGTERM', () => reporter.drain());
 *
 * Events: 'registered' (Registration) on each acknowledged registration, 'disconnected'
 * (StatusObject) when the stream breaks.
 */
export class BackendReporter extends EventEmitter {
  /** Counts calls for rps, eps and in-flight; pass it in the Server's `interceptors`. */
  readonly interceptor: ServerInterceptor;
  private readonly options: BackendReporterOptions;
  private readonly tracker = new CallTracker();
  private readonly backoff: Backoff;
  private readonly target: string;
  private readonly authToken: TokenSource;
  private readonly untracked: readonly string[];
  private readonly cores: number;
  private host: string;
  private port: number | undefined;
  private server: Server | null = null;
  private orca: ServerMetricRecorder | null = null;
  /** The latest report's utilization, sent with each call's load (see perCallLoad). */
  private callUtilization = 0;
  private state: ServingState = 'SERVING';
  private running = false;
  private client: Client | null = null;
  private call: ClientDuplexStream<ReportRequest, ReportResponse__Output> | null = null;
  private written = 0;
  private acked = 0;
  private drainWrittenAt = 0;
  private drainAckedAt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private reportTimer: NodeJS.Timeout | null = null;
  private intervalMs: number;
  private lastSnapshot: Snapshot;
  private identity: Registration | null = null;
  private draining: Promise<DrainResult> | null = null;
  private streamEnded: Promise<void> | null = null;

  constructor(options: BackendReporterOptions) {
    super();
    if (!options.service) throw new Error('BackendReporter: `service` is required');
    const address = options.lookasideAddress ?? process.env[LOOKASIDE_ADDRESS_ENV];
    if (!address) {
      throw new Error(`BackendReporter: no lookaside address: set lookasideAddress or $${LOOKASIDE_ADDRESS_ENV}`);
    }
    this.options = options;
    this.target = lookasideTarget(address);
    this.authToken = tokenSource(options);
    this.host = options.host ?? defaultHost();
    this.port = options.port;
    this.backoff = new Backoff(options.backoff ?? REPORTER_DEFAULTS.backoff);
    this.untracked = options.untrackedMethodPrefixes ?? REPORTER_DEFAULTS.untrackedMethodPrefixes;
    this.cores = options.cpuCount ?? availableParallelism();
    this.intervalMs = options.reportIntervalMs ?? REPORTER_DEFAULTS.reportIntervalMs;
    this.lastSnapshot = this.snapshot();
    const perCallLoad = options.perCallLoad ?? REPORTER_DEFAULTS.perCallLoad;
    this.interceptor = (method, call) => {
      if (this.untracked.some((p) => method.path.startsWith(p))) return new ServerInterceptingCall(call);
      let done = false;
      const finish = (ok: boolean) => {
        if (done) return;
        done = true;
        this.tracker.end(ok);
      };
      this.tracker.begin(Date.now());
      return new ServerInterceptingCall(call, {
        start: (next) => next({ onCancel: () => finish(true) }),
        sendStatus: (s, next) => {
          finish(!isBackendFailure(s.code));
          if (perCallLoad) {
            const trailer = s.metadata ?? new Metadata();
            trailer.set(CALL_LOAD_TRAILER, encodeCallLoad(this.tracker.inFlight, this.callUtilization));
            next({ ...s, metadata: trailer });
          } else {
            next(s);
          }
        },
      });
    };
  }

  /** Remembers the server for drain() and, with `orca`, adds the ORCA service. Call before binding. */
  attach(server: Server): this {
    this.server = server;
    if (this.options.orca && !this.orca) {
      this.orca = new ServerMetricRecorder();
      this.orca.addToServer(server);
    }
    return this;
  }

  /** Starts registering and reporting. The port (and host) may be given here, once bound. */
  start(address: { host?: string; port?: number } = {}): void {
    if (address.host) this.host = address.host;
    if (address.port !== undefined) this.port = address.port;
    if (this.port === undefined || !(this.port > 0 && this.port < 65536)) {
      throw new Error(`BackendReporter: start() needs the server's port (got ${this.port})`);
    }
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  /** Resolves with the backend's id and token once the lookaside has acknowledged it. */
  whenRegistered(timeoutMs = 30_000): Promise<Registration> {
    if (this.identity) return Promise.resolve(this.identity);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('registered', onRegistered);
        reject(new Error(`BackendReporter: not registered within ${timeoutMs} ms`));
      }, timeoutMs);
      const onRegistered = (r: Registration) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.once('registered', onRegistered);
    });
  }

  /** Marks the backend SERVING or NOT_SERVING (e.g. from a health check) and reports it now. */
  setServing(serving: boolean): void {
    if (this.state === 'DRAINING') return;
    const next: ServingState = serving ? 'SERVING' : 'NOT_SERVING';
    if (next === this.state) return;
    this.state = next;
    this.reportNow();
  }

  get status(): { state: ServingState; registered: Registration | null; connected: boolean; reportIntervalMs: number; inFlight: number } {
    return {
      state: this.state,
      registered: this.identity,
      connected: this.call !== null && this.acked > 0,
      reportIntervalMs: this.intervalMs,
      inFlight: this.tracker.inFlight,
    };
  }

  /**
   * Graceful shutdown: report DRAINING, wait until the lookaside has it and clients have
   * stopped sending (none in flight and none started for the quiet period) or the timeout,
   * then deregister (end the stream) and shut the attached server down.
   */
  drain(options: DrainOptions = {}): Promise<DrainResult> {
    if (!this.draining) this.draining = this.runDrain(options);
    return this.draining;
  }

  /** Deregisters at once (ends the stream cleanly) and stops reporting. Does not touch the server. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.clearReportTimer();
    const call = this.call;
    if (!call) return;
    const ended = this.streamEnded;
    call.end();
    const limit = this.options.deregisterTimeoutMs ?? REPORTER_DEFAULTS.deregisterTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ended, new Promise<void>((r) => (timer = setTimeout(r, limit)))]);
    clearTimeout(timer);
    if (this.call === call) {
      this.call = null;
      call.cancel();
    }
    this.client?.close();
    this.client = null;
  }

  private async runDrain(options: DrainOptions): Promise<DrainResult> {
    const started = Date.now();
    const timeoutMs = options.timeoutMs ?? this.options.drainTimeoutMs ?? REPORTER_DEFAULTS.drainTimeoutMs;
    const quietMs = options.quietPeriodMs ?? this.options.drainQuietPeriodMs ?? REPORTER_DEFAULTS.drainQuietPeriodMs;
    const deadline = started + timeoutMs;
    this.state = 'DRAINING';
    this.reportNow();
    let timedOut = false;
    for (;;) {
      const now = Date.now();
      // Quiet counts from the later of the last call and the lookaside's acknowledgement of
      // DRAINING (from drain() itself while the lookaside is unreachable).
      const announcedAt = this.drainAckedAt > 0 ? this.drainAckedAt : this.call === null ? started : 0;
      if (announcedAt > 0 && this.tracker.inFlight === 0 && now - Math.max(this.tracker.lastStartAt, announcedAt) >= quietMs) break;
      if (now >= deadline) {
        timedOut = true;
        break;
      }
      await sleep(Math.min(DRAIN_POLL_MS, deadline - now));
    }
    const waitedMs = Date.now() - started;
    const inFlightAtClose = this.tracker.inFlight;
    await this.stop();
    let shutdown: DrainResult['shutdown'] = 'none';
    if (this.server && options.shutdownServer !== false) {
      shutdown = await shutdownServer(this.server, this.options.shutdownTimeoutMs ?? REPORTER_DEFAULTS.shutdownTimeoutMs);
    }
    return { waitedMs, timedOut, inFlightAtClose, shutdown };
  }

  private connect(): void {
    this.retryTimer = null;
    if (!this.running) return;
    const Reports = lookasideProtos().reports.lookaside.v1.Reports;
    const client = new Reports(this.target, this.options.credentials ?? credentials.createInsecure(), {
      'grpc.keepalive_time_ms': REPORTER_DEFAULTS.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': REPORTER_DEFAULTS.keepaliveTimeoutMs,
      ...this.options.channelOptions,
      'grpc.use_local_subchannel_pool': 1,
    });
    const call = client.Report(streamMetadata(this.authToken));
    this.client = client;
    this.call = call;
    this.written = 0;
    this.acked = 0;
    this.drainWrittenAt = 0;
    let ended = false;
    let resolveEnded!: () => void;
    this.streamEnded = new Promise<void>((r) => (resolveEnded = r));
    call.on('data', (response: ReportResponse__Output) => {
      if (this.call !== call) return;
      this.acked++;
      if (this.drainWrittenAt > 0 && this.acked >= this.drainWrittenAt && this.drainAckedAt === 0) this.drainAckedAt = Date.now();
      const asked = durationMs(response.reportInterval);
      if (asked > 0) this.intervalMs = Math.max(asked, REPORTER_DEFAULTS.minReportIntervalMs);
      if (this.acked === 1) {
        this.backoff.reset();
        this.identity = { backendId: response.backendId, token: response.loadBalanceToken };
        this.scheduleReport();
        this.emit('registered', this.identity);
      }
    });
    call.on('error', () => {});
    call.on('status', (s: StatusObject) => {
      if (ended) return;
      ended = true;
      resolveEnded();
      client.close();
      if (this.call !== call) return;
      const hadAck = this.acked > 0;
      this.call = null;
      this.client = null;
      this.clearReportTimer();
      if (!this.running) return;
      this.emit('disconnected', s);
      this.scheduleRetry(hadAck);
    });
    this.write({
      registration: {
        service: this.options.service,
        host: this.host,
        port: this.port,
        zone: this.options.zone ?? '',
        labels: this.options.labels ?? {},
        state: this.state,
        load: this.sample(),
      },
    });
  }

  private write(message: ReportRequest): void {
    const call = this.call;
    if (!call) return;
    call.write(message);
    this.written++;
    if (this.state === 'DRAINING' && this.drainWrittenAt === 0) this.drainWrittenAt = this.written;
  }

  private scheduleRetry(hadAck: boolean): void {
    this.retryTimer = setTimeout(() => this.connect(), this.backoff.reconnectDelay(hadAck));
    this.retryTimer.unref();
  }

  private scheduleReport(): void {
    this.clearReportTimer();
    this.reportTimer = setTimeout(() => {
      this.reportTimer = null;
      if (this.call && this.acked > 0) {
        this.write({ loadReport: { load: this.sample(), state: this.state } });
        this.scheduleReport();
      }
    }, this.intervalMs);
    this.reportTimer.unref();
  }

  private clearReportTimer(): void {
    if (this.reportTimer) clearTimeout(this.reportTimer);
    this.reportTimer = null;
  }

  private reportNow(): void {
    if (!this.call || this.acked === 0) return;
    this.write({ loadReport: { load: this.sample(), state: this.state } });
    this.scheduleReport();
  }

  private snapshot(): Snapshot {
    const cpu = process.cpuUsage();
    return { atMs: Date.now(), cpuMicros: cpu.user + cpu.system, finished: this.tracker.finished, failed: this.tracker.failed };
  }

  /** Measures the window since the previous sample; one sample per report. */
  private sample(): Load {
    const next = this.snapshot();
    const window = windowLoad(this.lastSnapshot, next, this.cores);
    this.lastSnapshot = next;
    const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
    const sample: LoadSample = {
      ...window,
      requestsInFlight: this.tracker.inFlight,
      memUtilization: memUtilization(process.memoryUsage.rss(), totalmem(), constrained),
    };
    const hook = this.options.applicationUtilization;
    const app = hook ? safeMetric(() => hook(sample)) : 0;
    const named: Record<string, number> = {};
    if (this.options.namedMetrics) {
      let raw: Record<string, number> = {};
      try {
        raw = this.options.namedMetrics();
      } catch {
        raw = {};
      }
      for (const [k, v] of Object.entries(raw)) if (typeof v === 'number' && Number.isFinite(v)) named[k] = v;
    }
    this.callUtilization = app > 0 ? app : sample.cpuUtilization;
    if (this.orca) {
      this.orca.setCpuUtilizationMetric(sample.cpuUtilization);
      this.orca.setQpsMetric(sample.rpsFractional);
      this.orca.setEpsMetric(sample.eps);
      if (app > 0) this.orca.setApplicationUtilizationMetric(app);
      else this.orca.deleteApplicationUtilizationMetric();
    }
    return {
      cpuUtilization: sample.cpuUtilization,
      memUtilization: sample.memUtilization,
      applicationUtilization: app,
      rpsFractional: sample.rpsFractional,
      eps: sample.eps,
      requestsInFlight: sample.requestsInFlight,
      namedMetrics: named,
    };
  }
}

/** tryShutdown, then forceShutdown if it has not finished within `timeoutMs`. */
export function shutdownServer(server: Server, timeoutMs: number): Promise<'graceful' | 'forced'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve('forced');
    }, timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve('graceful');
    });
  });
}
