import type { RecentCalls } from '../store/types.js';

/** Most reports one stream's window keeps, whatever the report interval (bounds its memory). */
export const MAX_WINDOW_REPORTS = 64;

/**
 * The calls and failures of a backend's latest reports, kept with its report stream (reports
 * arrive in order on one stream). A report states rates; times the time since the stream's
 * previous report they are counts. Outlier ejection judges the newest reports back until they
 * hold `minCalls` calls: one report of a quiet backend holds a handful of calls, and one failure
 * among them says nothing, while a busy backend is judged on its latest report alone.
 */
export class ReportWindow {
  private readonly atMs: number[] = [];
  private readonly calls: number[] = [];
  private readonly failed: number[] = [];

  constructor(
    private lastReportMs: number,
    private readonly spanMs: number,
    private readonly minCalls: number,
  ) {}

  /** Adds a report's rates at `nowMs`; forgets reports older than the span. */
  add(nowMs: number, rps: number, eps: number): void {
    const seconds = Math.max(0, nowMs - this.lastReportMs) / 1000;
    this.lastReportMs = nowMs;
    this.atMs.push(nowMs);
    this.calls.push(rps * seconds);
    this.failed.push(Math.min(rps, eps) * seconds);
    let stale = 0;
    while (stale < this.atMs.length - 1 && (nowMs - this.atMs[stale] > this.spanMs || this.atMs.length - stale > MAX_WINDOW_REPORTS)) stale++;
    if (stale > 0) {
      this.atMs.splice(0, stale);
      this.calls.splice(0, stale);
      this.failed.splice(0, stale);
    }
  }

  /** The newest reports back until they hold minCalls calls (all of the span when they never do). */
  recent(): RecentCalls {
    let calls = 0;
    let failed = 0;
    for (let i = this.calls.length - 1; i >= 0 && calls < this.minCalls; i--) {
      calls += this.calls[i];
      failed += this.failed[i];
    }
    return { calls, failed };
  }
}
