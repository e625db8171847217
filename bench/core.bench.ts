// Service-core benchmark (issues 2 and 13). One lookaside replica in a child process with the
// Redis store, load over loopback:
//   1. reports ingested per second at BENCH_BACKENDS registered backends (default 1,000), sent
//      from this process;
//   2. time from one membership change to its arrival on N open BalanceLoad streams held
//      by that replica, N in BENCH_STREAMS (default "1000,10000"), p50 and p99; the streams
//      are held by BENCH_CLIENT_PROCESSES client processes (default 4, bench/fanout-client.ts);
//   3. the same for N xDS (ADS) streams subscribed to the service's EDS, N in
//      BENCH_XDS_STREAMS (default "1000,10000");
//   with the replica's memory growth per open stream (resident and V8 heap, from /metrics).
// BENCH_PROFILE_DIR=dir writes the replica's CPU profile there.
// Run: npm run bench:core   (needs redis-server on PATH, or REDIS_URL; the replica's inspector
// is opened on loopback to collect garbage before each memory reading)
import { clients, type Clients } from '../test/support/protos.js';
import { startServiceProcess } from '../test/support/lookaside.js';
import { startRedis, uniquePrefix } from '../test/support/redis.js';
import { openReport, steadyLoad } from '../test/support/streams.js';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/support/ports.js';
import { wallClockMs, type Api, type FanoutCommand, type FanoutReply } from './fanout-client.js';

const BACKENDS = Number(process.env.BENCH_BACKENDS ?? 1000);
const REPORT_SECONDS = Number(process.env.BENCH_REPORT_SECONDS ?? 10);
const counts = (list: string) => list.split(',').filter(Boolean).map(Number);
const STREAM_COUNTS = counts(process.env.BENCH_STREAMS ?? '1000,10000');
const XDS_STREAM_COUNTS = counts(process.env.BENCH_XDS_STREAMS ?? '1000,10000');
const CHANGES = Number(process.env.BENCH_CHANGES ?? 20);
/** Client channels the load is spread over (one HTTP/2 connection each). */
const CHANNELS = 8;
/** Processes holding the fan-out streams (bench/fanout-client.ts), as a fleet would. */
const CLIENT_PROCESSES = Number(process.env.BENCH_CLIENT_PROCESSES ?? 4);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function channels(address: string): Clients[] {
  // Distinct channel options give distinct connections instead of one shared subchannel.
  return Array.from({ length: CHANNELS }, (_, i) => clients(address, { 'bench.channel': i }));
}

async function reportThroughput(address: string): Promise<{ perSecond: number; backends: number }> {
  const pool = channels(address);
  const streams = Array.from({ length: BACKENDS }, (_, i) => {
    const r = openReport(pool[i % CHANNELS]);
    r.register('bench-reports', '10.1.0.1', 1000 + i);
    return r;
  });
  await Promise.all(streams.map((s) => s.registered()));
  // Each backend keeps one report in flight: send the next when the previous is acked.
  let acked = 0;
  let running = true;
  for (const s of streams) {
    s.stream.on('data', () => {
      acked += 1;
      if (running) s.report(steadyLoad(100 + (acked % 7), 0.4));
    });
  }
  const startAcks = acked;
  const t0 = performance.now();
  for (const s of streams) s.report(steadyLoad());
  await new Promise((r) => setTimeout(r, REPORT_SECONDS * 1000));
  running = false;
  const perSecond = (acked - startAcks) / ((performance.now() - t0) / 1000);
  for (const s of streams) s.stream.end();
  await new Promise((r) => setTimeout(r, 500));
  pool.forEach((c) => c.close());
  return { perSecond, backends: BACKENDS };
}

/** A client process of the fan-out bench, driven over IPC. */
class FanoutClient {
  private readonly child: ChildProcess;
  private readonly replies: FanoutReply[] = [];
  private waiting: ((reply: FanoutReply) => void) | undefined;

  constructor() {
    this.child = fork(fileURLToPath(new URL('./fanout-client.ts', import.meta.url)), {
      execArgv: ['--import', '@swc-node/register/esm-register'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (reply: FanoutReply) => {
      if (this.waiting) this.waiting(reply);
      else this.replies.push(reply);
    });
  }

  send(command: FanoutCommand): void {
    this.child.send(command);
  }

  /** The next reply, which must be of `kind`. */
  async next<K extends FanoutReply['kind']>(kind: K, timeoutMs = 120_000): Promise<Extract<FanoutReply, { kind: K }>> {
    const reply =
      this.replies.shift() ??
      (await new Promise<FanoutReply>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`fan-out client: no ${kind} within ${timeoutMs} ms`)), timeoutMs);
        this.waiting = (r) => {
          clearTimeout(timer);
          this.waiting = undefined;
          resolve(r);
        };
      }));
    if (reply.kind === 'error') throw new Error(`fan-out client: ${reply.message}`);
    if (reply.kind !== kind) throw new Error(`fan-out client: got ${reply.kind}, expected ${kind}`);
    return reply as Extract<FanoutReply, { kind: K }>;
  }

  ask<K extends FanoutReply['kind']>(command: FanoutCommand, kind: K): Promise<Extract<FanoutReply, { kind: K }>> {
    this.send(command);
    return this.next(kind);
  }

  close(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ kind: 'close' } satisfies FanoutCommand);
    return exited;
  }
}

/**
 * Collects the replica's garbage through its inspector (HeapProfiler.collectGarbage), so memory
 * readings count live objects only.
 */
async function collectGarbage(inspectorPort: number): Promise<void> {
  const [target] = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => socket.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
    socket.onmessage = (event) => {
      if ((JSON.parse(String(event.data)) as { id?: number }).id === 1) resolve();
    };
    socket.onerror = () => reject(new Error('cannot reach the replica inspector'));
  });
  socket.close();
}

/** The replica's resident memory and V8 heap after a full collection, from its /metrics. */
async function memory(httpPort: number): Promise<{ rss: number; heap: number }> {
  await collectGarbage(inspectorPort);
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: read('lookaside_process_resident_memory_bytes'), heap: read('lookaside_nodejs_heap_used_bytes') };
}

interface Propagation {
  n: number;
  p50: number;
  p99: number;
  max: number;
  samples: number;
  /** Growth of the replica's memory per open stream, bytes. */
  rssPerStream: number;
  heapPerStream: number;
}

async function propagation(address: string, httpPort: number, api: Api, n: number): Promise<Propagation> {
  const control = clients(address);
  const service = `bench-fanout-${api}-${n}`;
  const base = openReport(control);
  base.register(service, '10.2.0.1', 2000);
  await base.registered();
  const before = await memory(httpPort);
  const fleet = Array.from({ length: CLIENT_PROCESSES }, () => new FanoutClient());
  const share = (i: number) => Math.floor(n / CLIENT_PROCESSES) + (i < n % CLIENT_PROCESSES ? 1 : 0);
  const perProcess = Math.max(1, Math.round(CHANNELS / CLIENT_PROCESSES));
  await Promise.all(
    fleet.map((f, i) =>
      f.ask({ kind: 'open', address, api, service, streams: share(i), channels: perProcess, firstChannel: i * perProcess }, 'opened'),
    ),
  );
  const opened = await memory(httpPort);
  const latencies: number[] = [];
  for (let change = 0; change < CHANGES; change++) {
    await Promise.all(fleet.map((f) => f.ask({ kind: 'arm' }, 'armed')));
    const extra = openReport(control);
    const t0 = wallClockMs();
    extra.register(service, '10.2.0.2', 3000 + change);
    const arrivals = await Promise.all(fleet.map((f) => f.next('arrived')));
    for (const { at } of arrivals) for (const a of at) latencies.push(a - t0);
    // Remove it again and let the removal land everywhere before the next round.
    extra.stream.end();
    await Promise.all(fleet.map((f) => f.ask({ kind: 'settle' }, 'settled')));
  }
  latencies.sort((a, b) => a - b);
  await Promise.all(fleet.map((f) => f.close()));
  base.stream.end();
  await new Promise((r) => setTimeout(r, 500));
  control.close();
  return {
    n,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.at(-1)!,
    samples: latencies.length,
    rssPerStream: (opened.rss - before.rss) / n,
    heapPerStream: (opened.heap - before.heap) / n,
  };
}

const redis = await startRedis();
const inspectorPort = await freePort();
// This process plays a whole fleet and all its clients over a few connections; the
// per-connection limits are for real clients, one process each.
const service = await startServiceProcess({
  redisUrl: redis.url,
  redisPrefix: uniquePrefix(),
  nodeFlags: [
    `--inspect=127.0.0.1:${inspectorPort}`,
    ...(process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : []),
  ],
  env: {
    LOOKASIDE_MAX_STREAMS_PER_CONNECTION: '100000',
    LOOKASIDE_MAX_REPORT_STREAMS_PER_CONNECTION: '100000',
    LOOKASIDE_MAX_REGISTRATIONS_PER_SECOND: '100000',
  },
});
try {
  const ingest = await reportThroughput(service.grpcAddress);
  console.log(`reports ingested: ${ingest.perSecond.toFixed(0)}/s by one replica with Redis, ${ingest.backends} backends reporting, ${REPORT_SECONDS} s`);
  const runs: Array<[Api, number[]]> = [
    ['BalanceLoad', STREAM_COUNTS],
    ['xDS', XDS_STREAM_COUNTS],
  ];
  for (const [api, counts] of runs) {
    for (const n of counts) {
      const r = await propagation(service.grpcAddress, service.httpPort, api, n);
      console.log(
        `change -> ${r.n} ${api} streams on one replica: p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms (${r.samples} arrivals over ${CHANGES} changes); memory per stream: ${(r.rssPerStream / 1024).toFixed(1)} KiB resident, ${(r.heapPerStream / 1024).toFixed(1)} KiB heap`,
      );
    }
  }
} finally {
  await service.stop();
  await redis.stop();
}
