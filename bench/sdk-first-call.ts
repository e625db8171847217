// Time from a backend's first report (its reporter starting, which sends the Registration)
// to the first call it receives through a lookaside:/// channel under steady traffic,
// p50 and p99 over 50 trials. The lookaside runs in a child process.
//
//   node --import @swc-node/register/esm-register bench/sdk-first-call.ts [trials] [calls-per-second]
import { startServiceProcess } from '../test/support/lookaside.js';
import { BackendReporter, registerLookaside } from '../client-sdk/src/index.js';
import { echoClient, startBackend, steadyTraffic, waitFor } from '../client-sdk/test/support/backends.js';
import { percentile } from './sdk-support.js';

const TRIALS = Number(process.argv[2] ?? 50);
const RPS = Number(process.argv[3] ?? 200);

const service = await startServiceProcess({});
registerLookaside({ lookasideAddress: service.grpcAddress });
const start = async (name: string) => {
  const reporter = new BackendReporter({ service: 'first', lookasideAddress: service.grpcAddress, host: '127.0.0.1' });
  const backend = await startBackend(name, { interceptors: [reporter.interceptor] });
  reporter.attach(backend.server);
  return { reporter, backend };
};
const steady = await start('steady');
steady.reporter.start({ port: steady.backend.port });
await steady.reporter.whenRegistered();
const client = echoClient('lookaside:///first');
const traffic = steadyTraffic(client, RPS, 10 * 60_000);
const times: number[] = [];
try {
  await waitFor(() => steady.backend.calls > 50, 10_000, 'traffic');
  for (let i = 0; i < TRIALS; i++) {
    const trial = await start(`t${i}`);
    const t0 = Date.now();
    trial.reporter.start({ port: trial.backend.port });
    await waitFor(() => trial.backend.calls > 0, 10_000, `trial ${i}`);
    times.push(trial.backend.firstCallAt - t0);
    await trial.reporter.stop();
    await trial.backend.stop();
  }
  const outcomes = await traffic.stop();
  const failed = outcomes.filter((o) => !o.ok).length;
  const sorted = [...times].sort((a, b) => a - b);
  console.log(`sdk-first-call: ${TRIALS} trials, steady ${RPS} calls/s (one call every ${(1000 / RPS).toFixed(1)} ms) shared with one other backend`);
  console.log(`  first report -> first call: p50 ${percentile(sorted, 50)} ms, p99 ${percentile(sorted, 99)} ms, max ${sorted.at(-1)} ms`);
  console.log(`  calls during the run: ${outcomes.length}, failed: ${failed}`);
} finally {
  await traffic.stop();
  client.close();
  await steady.reporter.stop();
  await steady.backend.stop();
  await service.stop();
}
