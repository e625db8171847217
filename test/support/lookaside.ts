import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { INestApplication } from '@nestjs/common';
import { loadConfig } from '../../src/config/config.js';
import { startLookaside } from '../../src/app.js';
import { freePort, waitFor } from './ports.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ServiceOptions {
  /** Redis to share state through; unset = the in-memory store. */
  redisUrl?: string;
  /** Key prefix, so replicas of one test share state and other tests do not. */
  redisPrefix?: string;
  /** Extra LOOKASIDE_* settings. */
  env?: Record<string, string>;
  /** Reuse a gRPC port (a restarted replica at the same address). */
  grpcPort?: number;
  /** Extra node flags for a child process (a bench's --cpu-prof). */
  nodeFlags?: string[];
}

export interface RunningService {
  grpcAddress: string;
  grpcPort: number;
  httpPort: number;
  stop(): Promise<void>;
}

async function settings(options: ServiceOptions) {
  const grpcPort = options.grpcPort ?? (await freePort());
  const httpPort = await freePort();
  const env: Record<string, string> = {
    LOOKASIDE_GRPC_ADDRESS: `127.0.0.1:${grpcPort}`,
    LOOKASIDE_HTTP_PORT: String(httpPort),
    LOOKASIDE_HTTP_HOST: '127.0.0.1',
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
    ...(options.redisPrefix ? { LOOKASIDE_REDIS_PREFIX: options.redisPrefix } : {}),
    ...options.env,
  };
  return { grpcPort, httpPort, env };
}

/** One replica of the real service in this process (Nest app, real gRPC on loopback). */
export async function startService(options: ServiceOptions = {}): Promise<RunningService & { app: INestApplication }> {
  const { grpcPort, httpPort, env } = await settings(options);
  const app = await startLookaside(loadConfig(env), process.env.LOOKASIDE_TEST_LOGS ? ['log', 'warn', 'error'] : false);
  return { app, grpcAddress: env.LOOKASIDE_GRPC_ADDRESS, grpcPort, httpPort, stop: () => app.close() };
}

/** One replica in a child process, for tests that kill or restart it. */
export async function startServiceProcess(
  options: ServiceOptions = {},
): Promise<RunningService & { child: ChildProcess; kill(signal?: NodeJS.Signals): Promise<void> }> {
  const { grpcPort, httpPort, env } = await settings(options);
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), '--import', '@swc-node/register/esm-register', 'src/main.ts'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', process.env.LOOKASIDE_TEST_LOGS ? 'inherit' : 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Never leave a replica running after the test process is gone.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  await waitFor(
    `lookaside child on :${grpcPort}`,
    async () => {
      if (child.exitCode !== null) throw new Error(`lookaside child exited with ${child.exitCode}`);
      try {
        const res = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
        return res.ok ? true : undefined;
      } catch {
        return undefined;
      }
    },
    20_000,
    50,
  ).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return { child, grpcAddress: env.LOOKASIDE_GRPC_ADDRESS, grpcPort, httpPort, stop: () => kill('SIGTERM'), kill };
}
