// Calls per second through a lookaside:/// channel against grpc-js's own round_robin over
// the same backends, with the same payload and concurrency. Each client channel runs in its own
// child process (bench/sdk-client.ts), two of each kind, one process at a time, so no two share
// a heap or JIT state; the lookaside and the backends run in child processes too. The two
// round_robin processes against each other are the control: how far this machine's noise alone
// moves one process's figure. Goal: lookaside >= 0.97 x round_robin.
//
//   node --import @swc-node/register/esm-register bench/sdk-throughput.ts [seconds-per-round=1] [cycles=90] [concurrency=32] [--lb-token]
//
// --lb-token: the lookaside channels send each call's lb-token (lookaside.send_lb_token), which
// they do not by default.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { experimental, Metadata } from '@grpc/grpc-js';
import { CallLoad, WeightedPicker } from '../client-sdk/src/picker.js';
import { startServiceProcess } from '../test/support/lookaside.js';
import { median, percentile, root, spawnBackends } from './sdk-support.js';

const SEND_LB_TOKEN = process.argv.includes('--lb-token');
const positional = process.argv.slice(2).filter((a) => a !== '--lb-token');
const ROUND_SECONDS = Number(positional[0] ?? 1);
/**
 * 90 cycles (about 6.5 min): 30 left the interval about ±0.03 wide, wider than the margin the
 * goal asks about, so most runs ended "not resolved" (measured: five 30-cycle runs against two of 90).
 */
const CYCLES = Number(positional[1] ?? 90);
const CONCURRENCY = Number(positional[2] ?? 32);
/**
 * Client processes per channel kind. One process runs 3 to 6 % faster or slower than the next
 * on the same code (measured), more than the goal's margin; each kind's figure is the mean of its
 * processes.
 */
const PROCESSES_PER_KIND = 2;
const BACKENDS = 3;
const PAYLOAD_BYTES = 100;
/** lookaside's calls/s over round_robin's that the SDK must reach. */
const GOAL = 0.97;
/** Fewer cycles than this give an interval too rough to judge the goal by. */
const MIN_CYCLES_FOR_VERDICT = 10;
/** Resamples behind each ratio's 95 % interval. */
const BOOTSTRAP_RESAMPLES = 2000;

/** One client's round, as bench/sdk-client.ts reports it. */
interface Round {
  /** Calls completed per second of wall time. */
  rate: number;
  /** The client process's CPU (user + system) per completed call, µs. */
  cpuPerCall: number;
  failed: number;
}

function spawnClient(mode: 'round_robin' | 'lookaside', address: string): ChildProcess {
  return fork(join(root, 'bench', 'sdk-client.ts'), [mode, address, String(CONCURRENCY), String(PAYLOAD_BYTES), SEND_LB_TOKEN ? 'lb-token' : 'no-lb-token'], {
    cwd: root,
    execArgv: ['--import', '@swc-node/register/esm-register'],
  });
}

async function runRound(client: ChildProcess, seconds: number): Promise<Round> {
  const reply = once(client, 'message');
  client.send({ seconds });
  return (await reply)[0] as Round;
}

/**
 * The median of the per-cycle ratios, and a 95 % interval for it from resampling the cycles
 * (percentile bootstrap): the figure and how far the noise of this many rounds could move it.
 */
function ratioWithInterval(ratios: number[]): { median: number; low: number; high: number } {
  const medians: number[] = [];
  const sample = new Array<number>(ratios.length);
  for (let r = 0; r < BOOTSTRAP_RESAMPLES; r++) {
    for (let i = 0; i < ratios.length; i++) sample[i] = ratios[Math.floor(Math.random() * ratios.length)];
    medians.push(median(sample));
  }
  medians.sort((a, b) => a - b);
  return { median: median(ratios), low: percentile(medians, 2.5), high: percentile(medians, 97.5) };
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
const addresses = backends.ports.map((p) => `127.0.0.1:${p}`).join(',');
type Kind = 'round_robin' | 'lookaside';
const kinds: Kind[] = ['round_robin', 'lookaside'];
const clients = kinds.flatMap((kind) =>
  Array.from({ length: PROCESSES_PER_KIND }, () => ({ kind, process: spawnClient(kind, kind === 'lookaside' ? service.grpcAddress : addresses) })),
);
try {
  await Promise.all(clients.map((c) => once(c.process, 'message')));
  for (const c of clients) await runRound(c.process, 1);
  const cycles: Round[][] = [];
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    // Rotate the order so drift (GC, neighbours on the machine) and whatever the previous
    // round left behind hit every client alike; compare within a cycle.
    const rounds = new Array<Round>(clients.length);
    for (let i = 0; i < clients.length; i++) {
      const at = (i + cycle) % clients.length;
      rounds[at] = await runRound(clients[at].process, ROUND_SECONDS);
    }
    cycles.push(rounds);
  }
  const failed = cycles.flat().reduce((sum, r) => sum + r.failed, 0);
  const rate = (r: Round) => r.rate;
  const callsPerCpu = (r: Round) => 1 / r.cpuPerCall;
  /** A kind's figure in one cycle: the mean over its processes. */
  const meanOf = (rounds: Round[], kind: Kind, of: (r: Round) => number) =>
    rounds.reduce((sum, r, i) => sum + (clients[i].kind === kind ? of(r) : 0), 0) / PROCESSES_PER_KIND;
  const lookasideOver = (of: (r: Round) => number) => ratioWithInterval(cycles.map((rounds) => meanOf(rounds, 'lookaside', of) / meanOf(rounds, 'round_robin', of)));
  // The two round_robin processes against each other: what noise alone does to one process's figure.
  const [firstRoundRobin, secondRoundRobin] = clients.flatMap((c, i) => (c.kind === 'round_robin' ? [i] : []));
  const control = ratioWithInterval(cycles.map((rounds) => rounds[secondRoundRobin].rate / rounds[firstRoundRobin].rate));
  const fmt = (x: { median: number; low: number; high: number }) => `${x.median.toFixed(3)} (95 % interval ${x.low.toFixed(3)} to ${x.high.toFixed(3)})`;
  console.log(
    `sdk-throughput: ${BACKENDS} backends, ${PAYLOAD_BYTES} B payload, ${CONCURRENCY} in flight, ${PROCESSES_PER_KIND} client processes of each kind, ${CYCLES} cycles of ${ROUND_SECONDS} s rounds, lookaside ${SEND_LB_TOKEN ? 'with' : 'without'} lb-token`,
  );
  clients.forEach((c, i) => {
    const rounds = cycles.map((r) => r[i]);
    console.log(`  ${c.kind.padEnd(11)} calls/s median ${median(rounds.map(rate)).toFixed(0)}; client CPU ${median(rounds.map((r) => r.cpuPerCall)).toFixed(1)} µs/call`);
  });
  const verdict = (x: { low: number; high: number }) =>
    CYCLES < MIN_CYCLES_FOR_VERDICT ? `no verdict under ${MIN_CYCLES_FOR_VERDICT} cycles` : x.low >= GOAL ? 'met' : x.high < GOAL ? 'not met' : 'not resolved by this run';
  const lookaside = lookasideOver(rate);
  console.log(`  lookaside/round_robin calls/s ${fmt(lookaside)}: goal >= ${GOAL} ${verdict(lookaside)}`);
  console.log(`  lookaside/round_robin calls per CPU-second ${fmt(lookasideOver(callsPerCpu))}`);
  console.log(`  control: one round_robin process over the other, calls/s ${fmt(control)}`);
  console.log(`  failed calls: ${failed}`);
  console.log(`  pick: ${pickCost('').toFixed(0)} ns without a token, ${pickCost('XoVmMHz6BhwD3D8A').toFixed(0)} ns with one`);
} finally {
  for (const c of clients) if (c.process.connected) c.process.send({});
  await Promise.all(clients.map((c) => (c.process.exitCode === null ? once(c.process, 'exit') : null)));
  await backends.stop();
  await service.stop();
}
