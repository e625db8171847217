// The backend reporter's metric math: call counts kept by the server interceptor, and the
// rates and utilizations between two samples. Pure apart from CallTracker's counters.

/** Call counts a server interceptor keeps. */
export class CallTracker {
  inFlight = 0;
  started = 0;
  finished = 0;
  failed = 0;
  /** Time (ms) the latest call started; 0 before any. */
  lastStartAt = 0;

  begin(nowMs: number): void {
    this.inFlight++;
    this.started++;
    this.lastStartAt = nowMs;
  }

  end(ok: boolean): void {
    this.inFlight--;
    this.finished++;
    if (!ok) this.failed++;
  }
}

/** Cumulative numbers at one moment. */
export interface Snapshot {
  atMs: number;
  /** process.cpuUsage() user + system, in microseconds. */
  cpuMicros: number;
  finished: number;
  failed: number;
}

/** The measured part of a Load report over the window between two snapshots. */
export interface WindowLoad {
  /** Process CPU over the window; 1.0 = all `cores` busy. */
  cpuUtilization: number;
  /** Calls finished per second. */
  rpsFractional: number;
  /** Calls finished with a non-OK status per second. */
  eps: number;
  /** Length of the window, ms. */
  windowMs: number;
}

export function windowLoad(prev: Snapshot, next: Snapshot, cores: number): WindowLoad {
  const windowMs = next.atMs - prev.atMs;
  if (!(windowMs > 0)) return { cpuUtilization: 0, rpsFractional: 0, eps: 0, windowMs: 0 };
  const seconds = windowMs / 1000;
  const cpuMs = (next.cpuMicros - prev.cpuMicros) / 1000;
  return {
    cpuUtilization: Math.max(0, cpuMs / (windowMs * Math.max(1, cores))),
    rpsFractional: Math.max(0, next.finished - prev.finished) / seconds,
    eps: Math.max(0, next.failed - prev.failed) / seconds,
    windowMs,
  };
}

/** Memory in use over memory available (the cgroup limit when there is one), 0 to 1. */
export function memUtilization(rssBytes: number, totalBytes: number, constrainedBytes: number | undefined): number {
  const limit = constrainedBytes && constrainedBytes > 0 && constrainedBytes < totalBytes ? constrainedBytes : totalBytes;
  return limit > 0 ? Math.min(1, rssBytes / limit) : 0;
}

/** A user hook's number, or 0 when it is not a finite number >= 0 (or the hook threw). */
export function safeMetric(read: () => number): number {
  try {
    const v = read();
    return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0;
  } catch {
    return 0;
  }
}
