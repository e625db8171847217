import type { RecentReports } from '../store/types.js';

/** Most reports one stream's window keeps, whatever the report interval (bounds its memory). */
export const MAX_WINDOW_REPORTS = 64;

/**
 * A backend's latest reports, kept with its report stream (reports arrive in order on one
 * stream), over a span of time: what outlier ejection reads. A report states rates; times the
 * time since the stream's previous report they are counts.
 * - Errors are judged over the newest reports back until they hold `minCalls` calls: one report
 *   of a quiet backend holds a handful of calls, and one failure among them says nothing, while
 *   a busy backend is judged on its latest report alone.
 * - Whether the others have room for an ejected backend's calls is judged on rps and utilization
 *   over the whole span: a single report's utilization is noisy, and a check repeated on every
 *   report would sooner or later pass on a low one.
 */
export class ReportWindow {
  private readonly atMs: number[] = [];
  private readonly seconds: number[] = [];
  private readonly calls: number[] = [];
  private readonly failed: number[] = [];
  private readonly utilization: number[] = [];

  constructor(
    private lastReportMs: number,
    private readonly spanMs: number,
    private readonly minCalls: number,
  ) {}

  /** Adds a report at `nowMs`; forgets reports older than the span. */
  add(nowMs: number, rps: number, eps: number, utilization: number): void {
    const seconds = Math.max(0, nowMs - this.lastReportMs) / 1000;
    this.lastReportMs = nowMs;
    this.atMs.push(nowMs);
    this.seconds.push(seconds);
    this.calls.push(rps * seconds);
    this.failed.push(Math.min(rps, eps) * seconds);
    this.utilization.push(utilization);
    let stale = 0;
    while (stale < this.atMs.length - 1 && (nowMs - this.atMs[stale] > this.spanMs || this.atMs.length - stale > MAX_WINDOW_REPORTS)) stale++;
    if (stale > 0) {
      for (const list of [this.atMs, this.seconds, this.calls, this.failed, this.utilization]) list.splice(0, stale);
    }
  }

  recent(): RecentReports {
    let calls = 0;
    let failed = 0;
    for (let i = this.calls.length - 1; i >= 0 && calls < this.minCalls; i--) {
      calls += this.calls[i];
      failed += this.failed[i];
    }
    let seconds = 0;
    let allCalls = 0;
    let busy = 0;
    for (let i = 0; i < this.seconds.length; i++) {
      seconds += this.seconds[i];
      allCalls += this.calls[i];
      busy += this.utilization[i] * this.seconds[i];
    }
    const latest = this.utilization.length ? this.utilization[this.utilization.length - 1] : 0;
    return { calls, failed, rps: seconds > 0 ? allCalls / seconds : 0, utilization: seconds > 0 ? busy / seconds : latest };
  }
}
