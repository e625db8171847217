import { Logger } from '@nestjs/common';
import { loadConfig } from './config/config.js';
import { createLogger, startLookaside } from './app.js';
import { HealthService } from './health/health.service.js';

/** Longest a SIGTERM/SIGINT shutdown may take before the process exits anyway. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

const config = loadConfig();
Logger.overrideLogger(createLogger(config.log));
const log = new Logger('Lookaside');
const app = await startLookaside(config);
log.log(`gRPC on ${config.grpcAddress}, admin HTTP on ${config.httpHost}:${config.httpPort}`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    setTimeout(() => {
      log.error(`shutdown took over ${SHUTDOWN_TIMEOUT_MS} ms; exiting`);
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    // Probes and balancers see NOT_SERVING first; then the listeners close.
    app.get(HealthService).shutDown();
    void app.close().then(() => process.exit(0));
  });
}
