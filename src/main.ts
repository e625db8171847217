import { Logger } from '@nestjs/common';
import { loadConfig } from './config/config.js';
import { startLookaside } from './app.js';

const config = loadConfig();
const app = await startLookaside(config);
new Logger('Lookaside').log(`gRPC on ${config.grpcAddress}, admin HTTP on ${config.httpHost}:${config.httpPort}`);
void app;
