// Calls per second through a lookaside:/// channel against grpc-js's own round_robin over
// the same backends, in the same run, with the same payload and concurrency. The lookaside
// and the backends run in child processes, so this process only runs the two clients.
// Goal: lookaside >= 0.97 x round_robin.
//
//   node --import @swc-node/register/esm-register bench/sdk-throughput.ts [seconds-per-round=2] [rounds=10] [concurrency=32]
import { credentials, experimental, Metadata, type ServiceError } from '@grpc/grpc-js';
import { CallLoad, WeightedPicker } from '../client-sdk/src/picker.js';
import { startServiceProcess } from '../test/support/lookaside.js';
import { registerLookaside } from '../client-sdk/src/index.js';
import { EchoClient, type EchoClientInstance } from '../client-sdk/test/support/backends.js';
import { median, spawnBackends } from './sdk-support.js';

const ROUND_SECONDS = Number(process.argv[2] ?? 2);
const ROUNDS = Number(process.argv[3] ?? 10);
const CONCURRENCY = Number(process.argv[4] ?? 32);
const BACKENDS = 3;
const PAYLOAD = Buffer.alloc(100, 7);

interface Round {
  /** Calls completed per second of wall time. */
  rate: number;
  /** This process's CPU (user + system) per completed call, µs: steadier than wall rates on a shared machine. */
  cpuPerCall: number;
  failed: number;
}

async function measure(client: EchoClientInstance, seconds: number): Promise<Round> {
  const end = Date.now() + seconds * 1000;
  let done = 0;
  let failed = 0;
  const worker = () =>
    new Promise<void>((resolve) => {
      const next = () => {
        if (Date.now() >= end) return resolve();
        client.Call(PAYLOAD, new Metadata(), {}, (err: ServiceError | null) => {
          if (err) failed++;
          else done++;
          next();
        });
      };
      next();
    });
  const start = Date.now();
  const cpu = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const used = process.cpuUsage(cpu);
  return { rate: (done * 1000) / (Date.now() - start), cpuPerCall: (used.user + used.system) / Math.max(1, done), failed };
}

/**
 * ns per pick of the SDK's picker over three weighted backends, with and without a token. Each
 * backend has a call in flight and a latency average (in use, picks compare them, reading the
 * clock), and they differ enough for the latency to count.
 */
function pickCost(token: string): number {
  const result = { pickResultType: experimental.PickResultType.COMPLETE, subchannel: null, status: null, onCallStarted: null, onCallEnded: null };
  const loads = [10, 20, 40].map((ms) => {
    const load = new CallLoad();
    const t = performance.now() - 5 * ms;
    for (let i = 0; i < 5; i++) {
      load.started(t + i * ms);
      load.ended(false, t + (i + 1) * ms);
    }
    load.started();
    return load;
  });
  const picker = new WeightedPicker([333, 667, 1000].map((weight, i) => ({ result, token, weight, load: loads[i] })));
  const args = Array.from({ length: 1024 }, () => ({ metadata: new Metadata(), extraPickInfo: {} }));
  for (let i = 0; i < 100_000; i++) picker.pick(args[i & 1023]);
  const n = 2_000_000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) picker.pick(args[i & 1023]);
  return Number(process.hrtime.bigint() - start) / n;
}

const service = await startServiceProcess({});
const backends = await spawnBackends(service.grpcAddress, 'bench', BACKENDS);
registerLookaside({ lookasideAddress: service.grpcAddress });
const rr = new EchoClient(
  `ipv4:${backends.ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
  credentials.createInsecure(),
  { 'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }) },
) as unknown as EchoClientInstance;
const la = new EchoClient('lookaside:///bench', credentials.createInsecure()) as unknown as EchoClientInstance;
try {
  await measure(rr, 1);
  await measure(la, 1);
  const rounds: Array<{ rr: Round; la: Round }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which goes first so drift (GC, neighbours on the machine) hits both alike,
    // and compare each lookaside round with the round_robin round next to it.
    const first = round % 2 === 0 ? rr : la;
    const second = first === rr ? la : rr;
    const a = await measure(first, ROUND_SECONDS);
    const b = await measure(second, ROUND_SECONDS);
    rounds.push(first === rr ? { rr: a, la: b } : { rr: b, la: a });
  }
  const failed = rounds.reduce((n, r) => n + r.rr.failed + r.la.failed, 0);
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ');
  const rrRates = rounds.map((r) => r.rr.rate);
  const laRates = rounds.map((r) => r.la.rate);
  const rateRatio = median(rounds.map((r) => r.la.rate / r.rr.rate));
  const cpuRatio = median(rounds.map((r) => r.rr.cpuPerCall / r.la.cpuPerCall));
  console.log(`sdk-throughput: ${BACKENDS} backends, ${PAYLOAD.length} B payload, ${CONCURRENCY} in flight, ${ROUNDS} x ${ROUND_SECONDS} s rounds`);
  console.log(`  round_robin   calls/s: ${fmt(rrRates)}  median ${median(rrRates).toFixed(0)}; client CPU ${median(rounds.map((r) => r.rr.cpuPerCall)).toFixed(1)} µs/call`);
  console.log(`  lookaside:/// calls/s: ${fmt(laRates)}  median ${median(laRates).toFixed(0)}; client CPU ${median(rounds.map((r) => r.la.cpuPerCall)).toFixed(1)} µs/call`);
  console.log(`  lookaside/round_robin, median of paired rounds: calls/s ${rateRatio.toFixed(3)} (goal >= 0.97), calls per CPU-second ${cpuRatio.toFixed(3)}`);
  console.log(`  failed calls: ${failed}`);
  console.log(`  pick: ${pickCost('').toFixed(0)} ns without a token, ${pickCost('XoVmMHz6BhwD3D8A').toFixed(0)} ns with one`);
} finally {
  rr.close();
  la.close();
  await backends.stop();
  await service.stop();
}
