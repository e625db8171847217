// What the processes of the benchmark share: the one gRPC method the backends serve (raw
// bytes, no protobuf, to keep the per-call CPU low) and a request/reply helper over the IPC
// channel of a forked child.
import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rawUnaryMethod } from '../../test/support/raw-method.js';

export const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(here, '..', '..');

/** The backend's method. The request is the call's work (see encodeWork); the response is the backend's id (`b3`). */
export const CALL_PATH = '/bench.Backend/Call';
export const CALL_METHOD = rawUnaryMethod(CALL_PATH);

/**
 * What a call asks of whichever backend serves it, drawn by the generator from the call's
 * seeded sequence: its size (an exponential of mean 1, times the backend's mean service time
 * and slowdown) and the uniform draw its failure is decided by (it fails when below the
 * backend's failure rate). Every balancer's call i is the same work, so a difference between
 * balancers is where they put it, not the luck of the service-time draws.
 */
export interface Work {
  size: number;
  failDraw: number;
}

export function encodeWork(work: Work): Buffer {
  const b = Buffer.allocUnsafe(16);
  b.writeDoubleLE(work.size, 0);
  b.writeDoubleLE(work.failDraw, 8);
  return b;
}

export function decodeWork(b: Buffer): Work {
  if (b.length !== 16) throw new Error(`bench request of ${b.length} bytes, want 16`);
  return { size: b.readDoubleLE(0), failDraw: b.readDoubleLE(8) };
}

/** Status details of an injected failure: `b3: injected failure`. */
export const backendIdOfDetails = (details: string | undefined): number => {
  const m = /^b(\d+):/.exec(details ?? '');
  return m ? Number(m[1]) : -1;
};

export interface Envelope {
  /** Set on requests that want a reply; the reply carries the same id. */
  rid?: number;
  type: string;
  [key: string]: unknown;
}

/** Forks a bench module as a child with an IPC channel, under swc-node like the parent. */
export function forkModule(file: string, args: string[] = []): ChildProcess {
  return fork(join(here, file), args, {
    cwd: repoRoot,
    execArgv: ['--import', '@swc-node/register/esm-register'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // Structured clone: typed arrays of call records cross without JSON.
    serialization: 'advanced',
  });
}

/** Parent side: send a request to a child and wait for its reply. */
export class Peer {
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (m: Envelope) => void; reject: (e: Error) => void }>();

  constructor(readonly child: ChildProcess, readonly name: string) {
    child.on('message', (m: Envelope) => {
      if (m.rid === undefined) return;
      const w = this.waiting.get(m.rid);
      if (!w) return;
      this.waiting.delete(m.rid);
      if (m.type === 'error') w.reject(new Error(`${name}: ${String(m.message)}`));
      else w.resolve(m);
    });
    child.on('exit', (code, signal) => {
      for (const w of this.waiting.values()) w.reject(new Error(`${name} exited (${code ?? signal})`));
      this.waiting.clear();
    });
  }

  request<T extends Envelope = Envelope>(message: Envelope, timeoutMs = 30_000): Promise<T> {
    const rid = this.next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(rid);
        reject(new Error(`${this.name}: no reply to ${message.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(rid, {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.send({ ...message, rid });
    });
  }

  tell(message: Envelope): void {
    this.child.send(message);
  }
}

/** Child side: answer the parent's requests with `handle`; a thrown error becomes an error reply. */
export function serve(handle: (m: Envelope) => Promise<Record<string, unknown> | void> | Record<string, unknown> | void): void {
  process.on('message', (m: Envelope) => {
    Promise.resolve()
      .then(() => handle(m))
      .then(
        (reply) => {
          if (m.rid !== undefined) process.send!({ type: 'ok', ...(reply ?? {}), rid: m.rid });
        },
        (err: Error) => {
          if (m.rid !== undefined) process.send!({ type: 'error', message: err.stack ?? String(err), rid: m.rid });
          else console.error(err);
        },
      );
  });
  // The parent going away ends the child (no orphans on Ctrl-C or a crash of the runner).
  process.on('disconnect', () => process.exit(0));
}

/** Adds `value` x (overlap with each bin) to `bins`, for time integrals (busy workers, queue). */
export function integrate(bins: number[], binMs: number, fromMs: number, toMs: number, value: number): void {
  if (value === 0 || toMs <= fromMs) return;
  let t = Math.max(0, fromMs);
  while (t < toMs) {
    const i = Math.floor(t / binMs);
    const end = Math.min(toMs, (i + 1) * binMs);
    bins[i] = (bins[i] ?? 0) + value * (end - t);
    t = end;
  }
}

export function bump(bins: number[], i: number, by = 1): void {
  if (i >= 0) bins[i] = (bins[i] ?? 0) + by;
}

/** Exponential sample with the given mean. */
export const exponential = (mean: number, random: () => number = Math.random): number => -Math.log(1 - random()) * mean;

/** Small seeded PRNG (mulberry32) for reproducible draws. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
