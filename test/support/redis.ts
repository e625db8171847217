import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort, waitFor } from './ports.js';

export interface TestRedis {
  url: string;
  /** Stops the server (tests that own it) or does nothing (REDIS_URL given). */
  stop(): Promise<void>;
}

/**
 * A redis-server of the test's own on a free loopback port, so tests never share state.
 * When REDIS_URL is set, that server is used instead, with a fresh key prefix per caller, unless
 * `own` asks for a server the test may stop (to see what an outage does).
 */
export async function startRedis(own = false): Promise<TestRedis> {
  if (process.env.REDIS_URL && !own) return { url: process.env.REDIS_URL, stop: async () => {} };
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (err) =>
      reject(new Error(`cannot start redis-server (${err.message}); install it: apt-get install redis-server`)),
    );
  });
  const url = `redis://127.0.0.1:${port}`;
  await Promise.race([
    failed,
    waitFor('redis-server to accept connections', async () => {
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => {}); // not up yet: try again
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG' ? true : undefined;
      } catch {
        return undefined;
      } finally {
        probe.disconnect();
      }
    }),
  ]);
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

let prefixCounter = 0;
/** A key prefix no other test uses, for when tests share one Redis through REDIS_URL. */
export function uniquePrefix(): string {
  prefixCounter += 1;
  return `test-${process.pid}-${Date.now().toString(36)}-${prefixCounter}`;
}
