import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { HostPort } from '../../src/config/redis-connection.js';
import { freePort, waitFor } from './ports.js';

const run = promisify(execFile);
/** Longest any redis-cli call of the helpers may take. */
const CLI_TIMEOUT_MS = 10_000;
/** How long a set of servers may take to come up and agree. */
const STARTUP_TIMEOUT_MS = 20_000;

/** Sentinel timings for tests: a failover is noticed and completed within seconds. */
export const SENTINEL_TIMINGS = { downAfterMs: 1000, failoverTimeoutMs: 3000 };
export const SENTINEL_NAME = 'mymaster';

/** Runs redis-cli against 127.0.0.1:port; resolves with its output. */
export async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: CLI_TIMEOUT_MS });
  return stdout.trim();
}

async function cliOrUndefined(port: number, ...args: string[]): Promise<string | undefined> {
  try {
    return await cli(port, ...args);
  } catch {
    return undefined;
  }
}

/** Processes and temp dirs of one helper; gone when stop() runs or the test process exits. */
class Processes {
  private readonly children: ChildProcess[] = [];
  readonly dir = mkdtempSync(join(tmpdir(), 'lookaside-redis-'));
  private readonly killOnExit = () => this.killAll();
  /** Why a server is gone before stop(), if one is. */
  failure: string | undefined;

  constructor() {
    process.once('exit', this.killOnExit);
  }

  spawn(args: string[]): ChildProcess {
    const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('error', (error) => (this.failure = `cannot start redis-server (${error.message}); install it: apt-get install redis-server`));
    child.once('exit', (code, signal) => (this.failure ??= `redis-server ${args[0]} ${args[1]} exited (${signal ?? code})`));
    this.children.push(child);
    return child;
  }

  private killAll(): void {
    for (const child of this.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** cli(), undefined on an error; throws when a server has died, as waiting would only time out. */
  async ask(port: number, ...args: string[]): Promise<string | undefined> {
    if (this.failure) throw new Error(this.failure);
    return cliOrUndefined(port, ...args);
  }

  async stop(): Promise<void> {
    process.off('exit', this.killOnExit);
    this.failure = 'stopped';
    await Promise.all(
      this.children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** `count` ports free a moment ago, all different (freePort alone may hand out one twice). */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

const COMMON = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'];

export interface TestRedisCluster {
  /** The primaries (seeds for REDIS_CLUSTER_NODES). */
  nodes: HostPort[];
  stop(): Promise<void>;
}

/** Three primaries, no replicas, all 16384 slots assigned and agreed on by every node. */
export async function startRedisCluster(): Promise<TestRedisCluster> {
  const processes = new Processes();
  try {
    const all = await freePorts(6);
    const [ports, busPorts] = [all.slice(0, 3), all.slice(3)];
    for (const [i, port] of ports.entries()) {
      const dir = join(processes.dir, `node-${i}`);
      mkdirSync(dir);
      processes.spawn([
        '--port', String(port),
        // The bus port must be free too; port + 10000 (the default) may not be.
        '--cluster-port', String(busPorts[i]),
        '--cluster-enabled', 'yes',
        '--cluster-config-file', join(dir, 'nodes.conf'),
        '--cluster-node-timeout', '2000',
        '--dir', dir,
        ...COMMON,
      ]);
    }
    for (const port of ports) await waitFor(`redis-server :${port}`, async () => ((await processes.ask(port, 'PING')) === 'PONG' ? true : undefined), STARTUP_TIMEOUT_MS, 20);
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: STARTUP_TIMEOUT_MS });
    for (const port of ports) {
      await waitFor(
        `cluster_state:ok on :${port}`,
        async () => {
          const info = (await processes.ask(port, 'CLUSTER', 'INFO')) ?? '';
          return /cluster_state:ok/.test(info) && /cluster_known_nodes:3/.test(info) ? true : undefined;
        },
        STARTUP_TIMEOUT_MS,
        50,
      );
    }
    return { nodes: ports.map((port) => ({ host: '127.0.0.1', port })), stop: () => processes.stop() };
  } catch (error) {
    await processes.stop();
    throw error;
  }
}

export interface TestRedisSentinel {
  sentinels: HostPort[];
  name: string;
  /** The port of the current primary, as the Sentinels see it. */
  primaryPort(): Promise<number>;
  /** Forces a failover and resolves once every Sentinel names the new primary and it accepts writes. */
  failover(): Promise<{ from: number; to: number }>;
  stop(): Promise<void>;
}

/** One primary, one replica and three Sentinels (quorum 2), with quick failover timings. */
export async function startRedisSentinel(): Promise<TestRedisSentinel> {
  const processes = new Processes();
  try {
    const [primary, replica, ...ports] = await freePorts(5);
    processes.spawn(['--port', String(primary), '--dir', processes.dir, ...COMMON]);
    processes.spawn(['--port', String(replica), '--dir', processes.dir, '--replicaof', '127.0.0.1', String(primary), ...COMMON]);
    await waitFor(
      'the replica in sync',
      async () => (/master_link_status:up/.test((await processes.ask(replica, 'INFO', 'replication')) ?? '') ? true : undefined),
      STARTUP_TIMEOUT_MS,
      50,
    );
    for (const [i, port] of ports.entries()) {
      // Sentinel rewrites its configuration file, so each gets its own.
      const conf = join(processes.dir, `sentinel-${i}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${processes.dir}`,
          `sentinel monitor ${SENTINEL_NAME} 127.0.0.1 ${primary} 2`,
          `sentinel down-after-milliseconds ${SENTINEL_NAME} ${SENTINEL_TIMINGS.downAfterMs}`,
          `sentinel failover-timeout ${SENTINEL_NAME} ${SENTINEL_TIMINGS.failoverTimeoutMs}`,
          `sentinel parallel-syncs ${SENTINEL_NAME} 1`,
          '',
        ].join('\n'),
      );
      processes.spawn([conf, '--sentinel', '--loglevel', 'warning']);
    }
    const primaryPort = async (port = ports[0]) => {
      const reply = await cliOrUndefined(port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_NAME);
      return reply ? Number(reply.split('\n')[1]) : undefined;
    };
    // Ready when every Sentinel knows the replica and the two other Sentinels.
    for (const port of ports) {
      await waitFor(
        `sentinel :${port} to see the replica and its peers`,
        async () => {
          const replicas = (await processes.ask(port, 'SENTINEL', 'REPLICAS', SENTINEL_NAME)) ?? '';
          const peers = (await processes.ask(port, 'SENTINEL', 'SENTINELS', SENTINEL_NAME)) ?? '';
          const peerCount = peers.split('\n').filter((line) => line === 'runid').length;
          return replicas.includes(String(replica)) && peerCount === 2 ? true : undefined;
        },
        STARTUP_TIMEOUT_MS,
        100,
      );
    }
    return {
      sentinels: ports.map((port) => ({ host: '127.0.0.1', port })),
      name: SENTINEL_NAME,
      primaryPort: async () => (await primaryPort())!,
      failover: async () => {
        const from = (await primaryPort())!;
        const to = from === primary ? replica : primary;
        const reply = await cli(ports[0], 'SENTINEL', 'FAILOVER', SENTINEL_NAME);
        if (reply !== 'OK') throw new Error(`SENTINEL FAILOVER: ${reply}`);
        for (const port of ports) {
          await waitFor(`sentinel :${port} to name :${to}`, async () => ((await primaryPort(port)) === to ? true : undefined), STARTUP_TIMEOUT_MS, 50);
        }
        await waitFor('the new primary', async () => (/role:master/.test((await cliOrUndefined(to, 'INFO', 'replication')) ?? '') ? true : undefined), STARTUP_TIMEOUT_MS, 50);
        return { from, to };
      },
      stop: () => processes.stop(),
    };
  } catch (error) {
    await processes.stop();
    throw error;
  }
}
