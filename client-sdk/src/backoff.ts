// Jittered exponential backoff for the lookaside streams (the SDK's Watch and the backend
// reporter's Report). Pure apart from the random source, which tests can replace.

/** How reconnect delays grow. Every field is a documented default in DEFAULT_BACKOFF. */
export interface BackoffOptions {
  /** First delay after a failure, in ms. */
  initialMs?: number;
  /** Factor applied to the delay after each consecutive failure. */
  multiplier?: number;
  /** Spread of each delay: a delay d becomes uniform in [d * (1 - jitter), d * (1 + jitter)]. */
  jitter?: number;
  /** Ceiling for the un-jittered delay, in ms. */
  maxMs?: number;
}

/**
 * Defaults in the spirit of gRPC's connection backoff (1 s, x1.6, ±20 %), with a lower start
 * and a 30 s ceiling instead of 120 s: a lookaside that comes back should be followed again
 * within seconds, and a client holding its last assignment meanwhile loses nothing by trying.
 */
export const DEFAULT_BACKOFF: Readonly<Required<BackoffOptions>> = Object.freeze({
  initialMs: 500,
  multiplier: 1.6,
  jitter: 0.2,
  maxMs: 30_000,
});

export class Backoff {
  private readonly initialMs: number;
  private readonly multiplier: number;
  private readonly jitter: number;
  private readonly maxMs: number;
  private nextBaseMs: number;
  private lastImmediateMs = Number.NEGATIVE_INFINITY;

  constructor(options: BackoffOptions = {}, private readonly random: () => number = Math.random) {
    const o = { ...DEFAULT_BACKOFF, ...options };
    if (!(o.initialMs > 0) || !(o.multiplier >= 1) || !(o.jitter >= 0 && o.jitter < 1) || !(o.maxMs >= o.initialMs)) {
      throw new RangeError(`lookaside: invalid backoff ${JSON.stringify(o)}`);
    }
    this.initialMs = o.initialMs;
    this.multiplier = o.multiplier;
    this.jitter = o.jitter;
    this.maxMs = o.maxMs;
    this.nextBaseMs = o.initialMs;
  }

  /** The delay before the next attempt; each call grows the following one. */
  next(): number {
    const base = this.nextBaseMs;
    this.nextBaseMs = Math.min(base * this.multiplier, this.maxMs);
    const spread = base * this.jitter;
    return Math.max(0, Math.round(base - spread + this.random() * 2 * spread));
  }

  /** Back to the initial delay (after a stream that worked). */
  reset(): void {
    this.nextBaseMs = this.initialMs;
  }

  /**
   * The delay before reconnecting a stream: none after a stream that worked, but never twice
   * in a row within the initial delay (a server that accepts and drops streams must not cause
   * a busy loop); otherwise the next backoff delay.
   */
  reconnectDelay(streamWorked: boolean, nowMs: number = Date.now()): number {
    if (streamWorked && nowMs - this.lastImmediateMs >= this.initialMs) {
      this.lastImmediateMs = nowMs;
      return 0;
    }
    return this.next();
  }
}
