// Per-token call counts for ClientLoad. The policy increments them from the pick results'
// call tracking; the Watch stream drains them at the interval the lookaside asked for.
import type { ClientLoad } from './generated/lookaside/v1/ClientLoad.js';

/** Counts for one load-balance token since the last drain. Mutated in place on the call path. */
export class TokenCounters {
  started = 0;
  finished = 0;
  failed = 0;
  constructor(readonly token: string) {}
}

export class LoadRecorder {
  private readonly byToken = new Map<string, TokenCounters>();
  private dropped = 0;
  private active: ReadonlySet<string> = new Set();

  /** The counters for a token, created on first use; the same object until it is retired. */
  counters(token: string): TokenCounters {
    let c = this.byToken.get(token);
    if (!c) {
      c = new TokenCounters(token);
      this.byToken.set(token, c);
    }
    return c;
  }

  /** Tokens of the current assignment; the others are forgotten once they have nothing to report. */
  setActiveTokens(tokens: ReadonlySet<string>): void {
    this.active = tokens;
  }

  recordDrop(): void {
    this.dropped++;
  }

  /** Counts since the previous drain, or null when nothing happened; resets the counts. */
  drain(): ClientLoad | null {
    const tokens: NonNullable<ClientLoad['tokens']> = [];
    for (const [token, c] of this.byToken) {
      if (c.started === 0 && c.finished === 0 && c.failed === 0) {
        if (!this.active.has(token)) this.byToken.delete(token);
        continue;
      }
      tokens.push({ loadBalanceToken: token, callsStarted: c.started, callsFinished: c.finished, callsFailed: c.failed });
      c.started = 0;
      c.finished = 0;
      c.failed = 0;
    }
    const dropped = this.dropped;
    this.dropped = 0;
    if (tokens.length === 0 && dropped === 0) return null;
    return { tokens, callsDropped: dropped };
  }
}
