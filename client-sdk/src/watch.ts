// The SDK's stream to the lookaside (lookaside.v1.Assignments/Watch): send WatchStart, receive
// an Assignment at once and on every change, send ClientLoad at the interval the lookaside
// asks for, and reconnect when the stream ends: at once if it had delivered an assignment,
// with jittered exponential backoff otherwise. Each attempt dials afresh (own subchannel
// pool), so the only backoff in play is ours and a reconnect may land on any replica.
import { Client, status, type ChannelCredentials, type ChannelOptions, type ClientDuplexStream, type StatusObject } from '@grpc/grpc-js';
import { Backoff, type BackoffOptions } from './backoff.js';
import type { Assignment__Output } from './generated/lookaside/v1/Assignment.js';
import type { Duration__Output } from './generated/google/protobuf/Duration.js';
import type { WatchRequest } from './generated/lookaside/v1/WatchRequest.js';
import type { LoadRecorder } from './load-recorder.js';
import { lookasideProtos } from './protos.js';
import { streamMetadata, type TokenSource } from './auth-token.js';

export interface WatchConfig {
  service: string;
  clientZone: string;
  /** grpc-js target of the lookaside. */
  target: string;
  credentials: ChannelCredentials;
  channelOptions: ChannelOptions;
  authToken: TokenSource;
  backoff: BackoffOptions;
  recorder: LoadRecorder;
}

export interface WatchListener {
  onAssignment(assignment: Assignment__Output): void;
  /** The stream ended; `delivered` is whether this attempt had delivered an assignment. */
  onStreamEnd(status: StatusObject, delivered: boolean): void;
}

export function durationMs(d: Duration__Output | null | undefined): number {
  if (!d) return 0;
  return Number(d.seconds) * 1000 + Math.floor(d.nanos / 1e6);
}

export class AssignmentWatch {
  private readonly backoff: Backoff;
  private client: Client | null = null;
  private call: ClientDuplexStream<WatchRequest, Assignment__Output> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private statsTimer: NodeJS.Timeout | null = null;
  private statsIntervalMs = 0;
  private running = false;
  /** Attempts made so far (for tests and diagnostics). */
  attempts = 0;


  constructor(private readonly config: WatchConfig, private readonly listener: WatchListener) {
    this.backoff = new Backoff(config.backoff);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  stop(): void {
    this.running = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.setStatsInterval(0);
    const call = this.call;
    this.call = null;
    call?.cancel();
    this.client?.close();
    this.client = null;
  }

  private connect(): void {
    this.retryTimer = null;
    if (!this.running) return;
    this.attempts++;
    const Assignments = lookasideProtos().assignments.lookaside.v1.Assignments;
    const client = new Assignments(this.config.target, this.config.credentials, {
      ...this.config.channelOptions,
      'grpc.use_local_subchannel_pool': 1,
    });
    const call = client.Watch(streamMetadata(this.config.authToken));
    this.client = client;
    this.call = call;
    let delivered = false;
    let ended = false;
    call.on('data', (assignment: Assignment__Output) => {
      if (this.call !== call) return;
      if (!delivered) {
        delivered = true;
        this.backoff.reset();
      }
      this.setStatsInterval(durationMs(assignment.clientStatsInterval));
      this.listener.onAssignment(assignment);
    });
    // 'error' always comes with a 'status'; handle the end once, from 'status'.
    call.on('error', () => {});
    call.on('status', (s: StatusObject) => {
      if (ended) return;
      ended = true;
      client.close();
      if (this.call !== call) return;
      this.call = null;
      this.client = null;
      this.setStatsInterval(0);
      // A server that ends the stream cleanly is going away too: follow another replica.
      const ending = s.code === status.OK ? { ...s, code: status.UNAVAILABLE, details: 'lookaside ended the stream' } : s;
      this.listener.onStreamEnd(ending, delivered);
      this.scheduleRetry(delivered);
    });
    call.write({ start: { service: this.config.service, clientZone: this.config.clientZone } });
  }

  private scheduleRetry(delivered: boolean): void {
    if (!this.running) return;
    this.retryTimer = setTimeout(() => this.connect(), this.backoff.reconnectDelay(delivered));
    this.retryTimer.unref();
  }

  private setStatsInterval(ms: number): void {
    if (ms === this.statsIntervalMs) return;
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.statsTimer = null;
    this.statsIntervalMs = ms;
    if (ms > 0) {
      this.statsTimer = setInterval(() => this.sendClientLoad(), ms);
      this.statsTimer.unref();
    }
  }

  private sendClientLoad(): void {
    const call = this.call;
    if (!call) return;
    const load = this.config.recorder.drain();
    if (load) call.write({ clientLoad: load });
  }
}
