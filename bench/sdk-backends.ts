// Child process of the SDK benchmarks: N Echo backends, each with a BackendReporter when a
// lookaside address is given. argv: lookaside address ("-" for none), service, count.
// Prints {"ports":[...]} once all are registered; drains them on SIGTERM.
import { BackendReporter } from '../client-sdk/src/index.js';
import { startBackend } from '../client-sdk/test/support/backends.js';

const [lookasideAddress, service, count] = process.argv.slice(2);
const reporters: BackendReporter[] = [];
const ports: number[] = [];
for (let i = 0; i < Number(count); i++) {
  const reporter = lookasideAddress === '-' ? null : new BackendReporter({ service, lookasideAddress, host: '127.0.0.1' });
  const backend = await startBackend(`b${i}`, reporter ? { interceptors: [reporter.interceptor] } : {});
  ports.push(backend.port);
  if (reporter) {
    reporter.attach(backend.server).start({ port: backend.port });
    reporters.push(reporter);
  }
}
await Promise.all(reporters.map((r) => r.whenRegistered(10_000)));
process.stdout.write(`${JSON.stringify({ ports })}\n`);
process.on('SIGTERM', () => void Promise.all(reporters.map((r) => r.stop())).then(() => process.exit(0)));
