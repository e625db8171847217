// A backend in its own process, so a test can SIGKILL it: an Echo server with the
// BackendReporter. argv: lookaside address, service, name. Prints {"port":N} once registered.
import { BackendReporter } from '../../src/index.js';
import { startBackend } from './backends.js';

const [lookasideAddress, service, name] = process.argv.slice(2);
const reporter = new BackendReporter({ service, lookasideAddress, host: '127.0.0.1', backoff: { initialMs: 50, maxMs: 500 } });
const backend = await startBackend(name, { interceptors: [reporter.interceptor] });
reporter.attach(backend.server);
reporter.start({ port: backend.port });
await reporter.whenRegistered(10_000);
process.stdout.write(`${JSON.stringify({ port: backend.port })}\n`);
process.on('SIGTERM', () => void reporter.drain({ quietPeriodMs: 200 }).then(() => process.exit(0)));
