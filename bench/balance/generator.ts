// Child process: an open-loop load generator. For each balancer it is given Poisson arrival
// sources (exponential gaps, fired on schedule whatever is in flight, so queues show), each call
// with the same deadline. A source is a seeded sequence, and every balancer is given the same
// seeds, so all of them face the very same arrival times and the very same work per call (its
// size and failure draw, see encodeWork): common random numbers, so differences between
// balancers are theirs, not the luck of the draw. It records, per call, when it was sent,
// its latency, its status and the backend that answered, and how late each arrival fired
// (the generator's own scheduling lag, which shows when this machine's CPU is the bottleneck).
import { makeCaller, type BalancerSpec, type Caller } from './balancers.js';
import { encodeWork, exponential, seeded, serve, type Envelope } from './wire.js';

export interface StreamRecords {
  name: string;
  /** Per call: ms from the scenario start at which it was sent. */
  sentAt: Float64Array;
  latencyMs: Float64Array;
  /** gRPC status code; 0 = OK. */
  code: Int16Array;
  /** Backend id that answered, -1 when unknown (e.g. deadline exceeded). */
  backend: Int16Array;
  /** Per call: how late its arrival fired, ms. */
  lagMs: Float32Array;
}

/** One Poisson arrival sequence: the next arrival time, its call's work, and the seeded draws of both. */
interface Source {
  next: number;
  work: Buffer;
  readonly meanGapMs: number;
  readonly random: () => number;
}

/** Draws the source's next arrival after `from`: the gap, then the call's work, in that order. */
function advance(src: Source, from: number): void {
  src.next = from + exponential(src.meanGapMs, src.random);
  src.work = encodeWork({ size: exponential(1, src.random), failDraw: src.random() });
}

class Stream {
  count = 0;
  sentAt: number[] = [];
  latency: number[] = [];
  code: number[] = [];
  backend: number[] = [];
  lag: number[] = [];
  readonly sources: Source[];
  constructor(readonly name: string, readonly caller: Caller, ratePerSource: number, seeds: number[]) {
    this.sources = seeds.map((seed) => ({ next: 0, work: Buffer.alloc(0), meanGapMs: 1000 / ratePerSource, random: seeded(seed) }));
  }

  records(): StreamRecords {
    return {
      name: this.name,
      sentAt: Float64Array.from(this.sentAt),
      latencyMs: Float64Array.from(this.latency),
      code: Int16Array.from(this.code),
      backend: Int16Array.from(this.backend),
      lagMs: Float32Array.from(this.lag),
    };
  }
}

let streams: Stream[] = [];
let deadlineMs = 2000;

function run(t0Wall: number, durationMs: number): Promise<StreamRecords[]> {
  const t0 = t0Wall - performance.timeOrigin;
  const end = t0 + durationMs;
  let pending = 0;
  let issuing = true;
  return new Promise((resolve) => {
    const maybeDone = () => {
      if (!issuing && pending === 0) resolve(streams.map((s) => s.records()));
    };
    const fire = (s: Stream, scheduled: number, work: Buffer) => {
      const sent = performance.now();
      const i = s.count++;
      s.sentAt[i] = sent - t0;
      s.lag[i] = sent - scheduled;
      s.latency[i] = -1;
      s.code[i] = -1;
      s.backend[i] = -1;
      pending++;
      s.caller.call(deadlineMs, work, (code, backend) => {
        s.latency[i] = performance.now() - sent;
        s.code[i] = code;
        s.backend[i] = backend;
        pending--;
        maybeDone();
      });
    };
    const tick = () => {
      const now = performance.now();
      let soonest = Infinity;
      for (const s of streams) {
        for (const src of s.sources) {
          while (src.next <= now && src.next < end) {
            fire(s, src.next, src.work);
            advance(src, src.next);
          }
          if (src.next < end) soonest = Math.min(soonest, src.next);
        }
      }
      if (soonest === Infinity) {
        issuing = false;
        maybeDone();
        return;
      }
      setTimeout(tick, Math.max(0, soonest - performance.now()));
    };
    for (const s of streams) for (const src of s.sources) advance(src, t0);
    setTimeout(tick, Math.max(0, t0 - performance.now()));
  });
}

serve(async (m: Envelope) => {
  switch (m.type) {
    case 'prepare': {
      for (const s of streams) s.caller.close();
      deadlineMs = Number(m.deadlineMs);
      const specs = m.streams as Array<{ spec: BalancerSpec; ratePerSource: number; seeds: number[] }>;
      streams = specs.map(({ spec, ratePerSource, seeds }) => new Stream(spec.name, makeCaller(spec), ratePerSource, seeds));
      await Promise.all(streams.map((s) => s.caller.ready(15_000)));
      return {};
    }
    case 'go': {
      const cpu = process.cpuUsage();
      const records = await run(Number(m.t0), Number(m.durationMs));
      const used = process.cpuUsage(cpu);
      return { records, cpuMs: (used.user + used.system) / 1000 };
    }
    case 'started':
      for (const s of streams) if (s.name === m.balancer) s.caller.backendStarted(Number(m.id));
      return {};
    case 'close':
      for (const s of streams) s.caller.close();
      streams = [];
      return {};
    default:
      throw new Error(`unknown command ${m.type}`);
  }
});
process.send!({ type: 'up' });
