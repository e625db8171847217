// Service-core benchmark (issue 2). One lookaside replica in a child process with the Redis
// store, load from this process over loopback:
//   1. reports ingested per second at BENCH_BACKENDS registered backends (default 1,000);
//   2. time from one membership change to its arrival on N open BalanceLoad streams held
//      by that replica, N in BENCH_STREAMS (default "1000,5000"), p50 and p99;
//   3. the same for N xDS (ADS) streams subscribed to the service's EDS, N in
//      BENCH_XDS_STREAMS (default "1000,5000");
//   with the replica's memory growth per open stream (resident and V8 heap, from /metrics).
// Run: npm run bench:core   (needs redis-server on PATH, or REDIS_URL)
import { clients, type Clients } from '../test/support/protos.js';
import { startServiceProcess } from '../test/support/lookaside.js';
import { startRedis, uniquePrefix } from '../test/support/redis.js';
import { openBalanceLoad, openReport, Recorded, steadyLoad } from '../test/support/streams.js';
import { ENDPOINT_TYPE } from '../src/xds/resources.js';
import { waitFor } from '../test/support/ports.js';

const BACKENDS = Number(process.env.BENCH_BACKENDS ?? 1000);
const REPORT_SECONDS = Number(process.env.BENCH_REPORT_SECONDS ?? 10);
const counts = (list: string) => list.split(',').filter(Boolean).map(Number);
const STREAM_COUNTS = counts(process.env.BENCH_STREAMS ?? '1000,5000');
const XDS_STREAM_COUNTS = counts(process.env.BENCH_XDS_STREAMS ?? '1000,5000');
const CHANGES = Number(process.env.BENCH_CHANGES ?? 20);
/** Client channels the load is spread over (one HTTP/2 connection each). */
const CHANNELS = 8;

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

type Api = 'BalanceLoad' | 'xDS';

/** A stream of `api` for `service`, and whether it has had its first assignment. */
function openAssignmentStream(c: Clients, api: Api, service: string) {
  if (api === 'BalanceLoad') {
    const s = openBalanceLoad(c, service);
    return { stream: s.stream, recorded: s.recorded, ready: () => Boolean(s.latestList()?.length) };
  }
  const stream = c.ads.StreamAggregatedResources();
  const recorded = new Recorded(stream);
  stream.write({ node: { id: 'bench' }, typeUrl: ENDPOINT_TYPE, resourceNames: [service] });
  return { stream, recorded, ready: () => recorded.messages.length > 0 };
}

/** The replica's resident memory and V8 heap, from its /metrics. */
async function memory(httpPort: number): Promise<{ rss: number; heap: number }> {
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
  const pool = channels(address);
  const service = `bench-fanout-${api}-${n}`;
  const base = openReport(pool[0]);
  base.register(service, '10.2.0.1', 2000);
  await base.registered();
  const before = await memory(httpPort);
  const streams = Array.from({ length: n }, (_, i) => openAssignmentStream(pool[i % CHANNELS], api, service));
  await waitFor(`${n} streams to get the first assignment`, () => (streams.every((s) => s.ready()) ? true : undefined), 120_000, 50);
  const opened = await memory(httpPort);
  const latencies: number[] = [];
  for (let change = 0; change < CHANGES; change++) {
    const counts = streams.map((s) => s.recorded.messages.length);
    const arrivals = new Array<number>(n).fill(0);
    streams.forEach((s, i) =>
      s.stream.once('data', () => {
        arrivals[i] = performance.now();
      }),
    );
    const extra = openReport(pool[1 % CHANNELS]);
    const t0 = performance.now();
    extra.register(service, '10.2.0.2', 3000 + change);
    await waitFor('every stream to see the change', () => (arrivals.every((a) => a > 0) ? true : undefined), 60_000, 5);
    for (const a of arrivals) latencies.push(a - t0);
    // Remove it again and let the removal land everywhere before the next round.
    extra.stream.end();
    await waitFor('the removal', () => (streams.every((s, i) => s.recorded.messages.length >= counts[i] + 2) ? true : undefined), 60_000, 5);
  }
  latencies.sort((a, b) => a - b);
  for (const s of streams) s.stream.cancel();
  base.stream.end();
  await new Promise((r) => setTimeout(r, 500));
  pool.forEach((c) => c.close());
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
// This process plays a whole fleet and all its clients over a few connections; the
// per-connection limits are for real clients, one process each.
const service = await startServiceProcess({
  redisUrl: redis.url,
  redisPrefix: uniquePrefix(),
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
