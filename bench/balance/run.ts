// The load-balancing scenario benchmark: every scenario x load x balancer in one run.
//
//   node --import @swc-node/register/esm-register bench/balance/run.ts
//
// Processes: one lookaside service (in-memory store), one backend host (every balancer's own
// fleet: emulated queues, ORCA, lookaside reporters), and BENCH_CLIENTS load
// generators that each run every balancer's open-loop stream (the oracle's whole stream runs
// in generator 0, where its dispatcher is). The balancers run side by side on separate, equal
// fleets, at the same moments, so they share the machine's noise alike. Knobs: config.ts
// (BENCH_SCENARIOS=a,b BENCH_LOADS=70 BENCH_BALANCERS=lookaside,oracle BENCH_TIME_SCALE=0.5 ...).
import { readFileSync } from 'node:fs';
import { startServiceProcess } from '../../test/support/lookaside.js';
import { freePort } from '../../test/support/ports.js';
import { analyzeCell, checkTargets, type CellData, type CellResult } from './analyze.js';
import type { BalancerSpec } from './balancers.js';
import { backendCapacity, loadBenchConfig, type BalancerName, type BenchConfig } from './config.js';
import type { StreamRecords } from './generator.js';
import { printCell, printHeader, printTargets, sourceState, writeResults } from './report.js';
import { SCENARIOS, scaled, type Scenario } from './scenarios.js';
import { mergeRecords } from './stats.js';
import { forkModule, Peer, seeded } from './wire.js';
import type { BackendSeries } from './backend.js';

const started = Date.now();
const config = loadBenchConfig();
const capacity = backendCapacity(config);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- CPU: the whole machine from /proc/stat, ours from /proc/<pid>/stat ----

function machineTicks(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4], total };
}

function processTicks(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      sum += Number(f[11]) + Number(f[12]);
    } catch {
      // exited
    }
  }
  return sum;
}

function cpuMonitor(pids: number[]) {
  const first = machineTicks();
  const firstOurs = processTicks(pids);
  let prev = first;
  const samples: number[] = [];
  const timer = setInterval(() => {
    const t = machineTicks();
    if (t.total > prev.total) samples.push((100 * (t.busy - prev.busy)) / (t.total - prev.total));
    prev = t;
  }, 500);
  return () => {
    clearInterval(timer);
    const last = machineTicks();
    const total = last.total - first.total;
    return {
      machineAvg: total > 0 ? (100 * (last.busy - first.busy)) / total : 0,
      machineMax: samples.length ? Math.max(...samples) : 0,
      benchAvg: total > 0 ? (100 * (processTicks(pids) - firstOurs)) / total : 0,
    };
  };
}

// ---- processes ----

async function spawnPeer(file: string, name: string): Promise<Peer> {
  const child = forkModule(file);
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before it was up`)));
  });
  return new Peer(child, name);
}

const source = sourceState();
printHeader(
  `balance bench: ${config.scenarios.join(',')} at ${config.loads.map((l) => `${l * 100}%`).join(', ')}; ` +
    `balancers ${config.balancers.join(', ')}${config.serial ? ' (one at a time)' : ' (side by side)'}; ` +
    `backends of ${config.workers} workers x exp(${config.serviceMs} ms) = ${capacity.toFixed(1)} calls/s each; ` +
    `${config.clients} client processes; deadline ${config.deadlineMs} ms\n` +
    `source: ${source.commit.slice(0, 12)}${source.uncommitted.length ? ` + uncommitted changes in ${source.uncommitted.join(', ')}` : ''}; ` +
    `LOOKASIDE_* settings: ${Object.entries(process.env).filter(([k]) => k.startsWith('LOOKASIDE_')).map(([k, v]) => `${k}=${v}`).join(' ') || 'defaults'}`,
);
const [lookaside, host, generators] = await Promise.all([
  startServiceProcess({}),
  spawnPeer('backend.ts', 'backends'),
  Promise.all(Array.from({ length: config.clients }, (_, i) => spawnPeer('generator.ts', `generator ${i}`))),
]);
const pids = [process.pid, lookaside.child.pid!, host.child.pid!, ...generators.map((g) => g.child.pid!)];
console.log(`processes up in ${((Date.now() - started) / 1000).toFixed(1)} s`);

// ---- one cell: a scenario at one load, for a group of balancers at the same time ----

interface Fleet {
  name: BalancerName;
  ports: number[];
  service: string;
  connections?: number[];
}

async function startBackend(fleet: Fleet, s: Scenario, id: number): Promise<void> {
  const spec = s.backends.find((b) => b.id === id)!;
  await host.request({
    type: 'start',
    fleet: fleet.name,
    id,
    port: fleet.ports[id],
    workers: config.workers,
    serviceMs: config.serviceMs,
    slowdown: spec.slowdown,
    service: fleet.service,
    lookasideAddress: lookaside.grpcAddress,
    binMs: config.binMs,
  });
}

const debug = process.env.BENCH_DEBUG === '1';
const mark = (what: string) => debug && console.log(`  [${((Date.now() - started) / 1000).toFixed(2)} s] ${what}`);

async function runCell(s: Scenario, load: number, names: BalancerName[]): Promise<CellData['balancers']> {
  mark('cell start');
  const rate = load * s.capacityUnits * capacity;
  const tag = `${s.key}${Math.round(load * 100)}`;
  const cellSeed = config.seed * 1000 + s.key.charCodeAt(0) * 10 + Math.round(load * 100);
  const rng = seeded(cellSeed);
  const initial = s.backends.filter((b) => b.startAtMs === undefined).map((b) => b.id);
  const fleets: Fleet[] = [];
  const taken = new Set<number>();
  const port = async () => {
    for (;;) {
      const p = await freePort();
      if (taken.has(p)) continue;
      taken.add(p);
      return p;
    }
  };
  for (const name of names) {
    const ports: number[] = [];
    for (let i = 0; i < s.backends.length; i++) ports.push(await port());
    const fleet: Fleet = { name, ports, service: `bench-${tag}-${name}-${Date.now() % 100_000}` };
    if (name === 'connection') fleet.connections = generators.map(() => initial[Math.floor(rng() * initial.length)]);
    fleets.push(fleet);
  }
  await Promise.all(fleets.flatMap((f) => initial.map((id) => startBackend(f, s, id))));
  mark('backends registered');

  const specOf = (f: Fleet, g: number): BalancerSpec => ({
    name: f.name,
    ports: f.ports,
    initial,
    lookasideTarget: `lookaside://${lookaside.grpcAddress}/${f.service}`,
    connectTo: f.connections?.[g],
    wrr: config.wrr,
  });
  // Generator g's share of the arrivals is one seeded sequence, the same for every balancer; the
  // oracle, which must see the whole stream in one process, merges all of them in generator 0.
  const arrivalSeeds = generators.map((_, g) => cellSeed * 16 + g);
  await Promise.all(
    generators.map((gen, g) =>
      gen.request({
        type: 'prepare',
        deadlineMs: config.deadlineMs,
        streams: fleets
          .filter((f) => f.name !== 'oracle' || g === 0)
          .map((f) => ({ spec: specOf(f, g), ratePerSource: rate / generators.length, seeds: f.name === 'oracle' ? arrivalSeeds : [arrivalSeeds[g]] })),
      }),
    ),
  );

  mark('clients ready');
  const t0 = Date.now() + 300;
  await host.request({ type: 'epoch', t0 });
  const runs = generators.map((gen) => gen.request<{ type: string; records: StreamRecords[] }>({ type: 'go', t0, durationMs: s.durationMs }, s.durationMs + config.deadlineMs + 30_000));
  const events = s.events.map(async (e) => {
    await sleep(t0 + e.atMs - Date.now());
    await Promise.all(
      fleets.map(async (f) => {
        if (e.start) {
          await startBackend(f, s, e.backend);
          for (const gen of generators) gen.tell({ type: 'started', balancer: f.name, id: e.backend });
        } else {
          await host.request({ type: 'set', fleet: f.name, id: e.backend, ...e.set });
        }
      }),
    );
  });
  const results = await Promise.all(runs);
  await Promise.all(events);
  mark('load done');
  const out: CellData['balancers'] = [];
  for (const f of fleets) {
    const stats = await host.request<{ type: string; backends: Record<string, BackendSeries> }>({ type: 'stats', fleet: f.name });
    const parts = results.flatMap((r) => r.records.filter((rec) => rec.name === f.name));
    const calls = mergeRecords(parts);
    if (debug) {
      const odd = calls.code.flatMap((c, i) => (c !== 0 && c !== 13 ? [`${c}@${calls.sentAt[i].toFixed(0)}ms->b${calls.backend[i]}`] : []));
      if (odd.length) mark(`${f.name}: ${odd.length} failed calls: ${odd.slice(0, 8).join(' ')}`);
    }
    out.push({ name: f.name, calls, backends: stats.backends, connections: f.connections });
  }
  mark('stats in');
  await Promise.all([...fleets.map((f) => host.request({ type: 'stopFleet', fleet: f.name })), ...generators.map((g) => g.request({ type: 'close' }))]);
  mark('stopped');
  return out;
}

// ---- the run ----

const cells: CellResult[] = [];
try {
  for (const key of config.scenarios) {
    const s = scaled(SCENARIOS[key], config.timeScale);
    for (const load of config.loads) {
      const groups = config.serial ? config.balancers.map((b) => [b]) : [config.balancers];
      const stop = cpuMonitor(pids);
      const balancers: CellData['balancers'] = [];
      for (const group of groups) balancers.push(...(await runCell(s, load, group)));
      const cell = analyzeCell({
        scenario: s,
        load,
        rate: load * s.capacityUnits * capacity,
        capacity,
        workers: config.workers,
        serviceMs: config.serviceMs,
        binMs: config.binMs,
        cpu: stop(),
        balancers,
      });
      cells.push(cell);
      printCell(cell);
    }
  }
  const targets = checkTargets(cells);
  printTargets(targets);
  const files = writeResults(config, cells, targets, (Date.now() - started) / 1000);
  console.log(`\nwrote ${files.join(', ')}; ${((Date.now() - started) / 1000).toFixed(0)} s in all`);
} finally {
  for (const p of [host, ...generators]) p.child.kill('SIGTERM');
  await lookaside.stop();
}
