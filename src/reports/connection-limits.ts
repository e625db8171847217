import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { status } from '@grpc/grpc-js';
import { LOOKASIDE_CONFIG, type LookasideConfig } from '../config/config.js';
import { FieldError } from '../common/grpc-errors.js';
import { MetricsService } from '../common/metrics.service.js';

/** How often idle connections' entries are dropped (once their registration bucket is full again). */
const SWEEP_INTERVAL_MS = 10_000;

interface ConnectionUse {
  reportStreams: number;
  /** Registrations it may still make now: a bucket refilled at maxRegistrationsPerSecond. */
  tokens: number;
  refilledAtMs: number;
}

/**
 * Per-connection bounds on the report API: open report streams, and registrations per second
 * (a token bucket). A connection is known by its peer address ("ip:port"), unique while it is
 * open. An entry outlives its last stream until its bucket is full again, so a client cannot
 * reset its rate by closing and reopening streams on one connection.
 */
@Injectable()
export class ConnectionLimits implements OnModuleDestroy {
  private readonly connections = new Map<string, ConnectionUse>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    @Inject(LOOKASIDE_CONFIG) private readonly config: LookasideConfig,
    private readonly metrics: MetricsService,
  ) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  /** Counts a new report stream on `peer`; throws RESOURCE_EXHAUSTED past the limit. Returns its release. */
  openReportStream(peer: string): () => void {
    const use = this.use(peer);
    const max = this.config.limits.maxReportStreamsPerConnection;
    if (use.reportStreams >= max) {
      this.metrics.limitRejections.inc({ limit: 'report_streams_per_connection' });
      throw new FieldError('connection', `already has ${max} report streams open (LOOKASIDE_MAX_REPORT_STREAMS_PER_CONNECTION)`, status.RESOURCE_EXHAUSTED);
    }
    use.reportStreams += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      use.reportStreams -= 1;
    };
  }

  /** Takes one registration from `peer`'s bucket; throws RESOURCE_EXHAUSTED when it is empty. */
  takeRegistration(peer: string): void {
    const use = this.use(peer);
    this.refill(use, Date.now());
    if (use.tokens < 1) {
      this.metrics.limitRejections.inc({ limit: 'registrations_per_second' });
      throw new FieldError(
        'registration',
        `over ${this.config.limits.maxRegistrationsPerSecond} registrations per second on this connection (LOOKASIDE_MAX_REGISTRATIONS_PER_SECOND); retry later`,
        status.RESOURCE_EXHAUSTED,
      );
    }
    use.tokens -= 1;
  }

  /** Connections tracked now (for tests). */
  get tracked(): number {
    return this.connections.size;
  }

  private use(peer: string): ConnectionUse {
    let use = this.connections.get(peer);
    if (!use) {
      use = { reportStreams: 0, tokens: this.capacity(), refilledAtMs: Date.now() };
      this.connections.set(peer, use);
    }
    return use;
  }

  private capacity(): number {
    return Math.max(1, this.config.limits.maxRegistrationsPerSecond);
  }

  private refill(use: ConnectionUse, nowMs: number): void {
    const rate = this.config.limits.maxRegistrationsPerSecond;
    use.tokens = Math.min(this.capacity(), use.tokens + ((nowMs - use.refilledAtMs) / 1000) * rate);
    use.refilledAtMs = nowMs;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [peer, use] of this.connections) {
      this.refill(use, now);
      if (use.reportStreams === 0 && use.tokens >= this.capacity()) this.connections.delete(peer);
    }
  }
}
