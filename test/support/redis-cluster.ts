import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { HostPort } from '../../src/config/redis-connection.js';
import { makeCa, makeLeaf } from './certs.js';
import { freePort, waitFor } from './ports.js';

const run = promisify(execFile);
/** Longest any redis-cli call of the helpers may take. */
const CLI_TIMEOUT_MS = 10_000;
/** How long a set of servers may take to come up and agree. */
const STARTUP_TIMEOUT_MS = 20_000;

/** How long a Cluster node may be unreachable before it is failed over (tests: seconds, not Redis's 15 s). */
export const CLUSTER_NODE_TIMEOUT_MS = 2000;
/** Sentinel timings for tests: a failover is noticed and completed within seconds. */
export const SENTINEL_TIMINGS = { downAfterMs: 1000, failoverTimeoutMs: 3000 };
export const SENTINEL_NAME = 'mymaster';

/** How redis-cli reaches a server: an ACL user (else the default one), a password, TLS. */
export interface RedisAccess {
  user?: string;
  password?: string;
  tls?: RedisTestTls;
}

/** PEM files of a test CA: the servers' certificate, and the client certificate everyone presents. */
export interface RedisTestTls {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, under `dir`. */
export function makeRedisTls(dir: string): RedisTestTls {
  const ca = makeCa(dir, 'redis-ca');
  const server = makeLeaf(dir, ca, { name: 'redis-server', dnsNames: ['localhost'], ips: ['127.0.0.1'] });
  const client = makeLeaf(dir, ca, { name: 'redis-client', dnsNames: [], ips: [], clientAuth: true });
  return { caFile: ca.certFile, serverCertFile: server.certFile, serverKeyFile: server.keyFile, clientCertFile: client.certFile, clientKeyFile: client.keyFile };
}

/** Runs redis-cli against 127.0.0.1:port; resolves with its output. */
export async function cli(port: number, ...args: string[]): Promise<string> {
  return cliWith({}, port, args);
}

/** redis-cli with `access` (the password from the environment, not argv, so it stays out of ps). */
async function cliWith(access: RedisAccess, port: number, args: string[]): Promise<string> {
  const env = access.password === undefined ? process.env : { ...process.env, REDISCLI_AUTH: access.password };
  const { stdout } = await run('redis-cli', [...cliAccessArgs(access), '-h', '127.0.0.1', '-p', String(port), ...args], { timeout: CLI_TIMEOUT_MS, env });
  return stdout.trim();
}

function cliAccessArgs(access: RedisAccess): string[] {
  const tls = access.tls ? ['--tls', '--cacert', access.tls.caFile, '--cert', access.tls.clientCertFile, '--key', access.tls.clientKeyFile] : [];
  return [...tls, ...(access.user ? ['--user', access.user] : [])];
}

/**
 * Where a server listens: plain `port`, or TLS only on it (client certificates required), its
 * replication and cluster bus over TLS too.
 */
function listenArgs(port: number, tls: RedisTestTls | undefined): string[] {
  if (!tls) return ['--port', String(port)];
  return [
    '--port', '0',
    '--tls-port', String(port),
    '--tls-cert-file', tls.serverCertFile,
    '--tls-key-file', tls.serverKeyFile,
    // What it presents when it connects to a primary or a cluster peer.
    '--tls-client-cert-file', tls.clientCertFile,
    '--tls-client-key-file', tls.clientKeyFile,
    '--tls-ca-cert-file', tls.caFile,
    '--tls-auth-clients', 'yes',
    '--tls-replication', 'yes',
  ];
}

/** `--name value ...` arguments as configuration-file lines (Sentinel takes a file). */
const confLines = (args: string[]) => args.flatMap((arg, i) => (i % 2 === 0 ? [`${arg.slice(2)} ${args[i + 1]}`] : []));

/** Processes and temp dirs of one helper; gone when stop() runs or the test process exits. */
class Processes {
  private readonly children: ChildProcess[] = [];
  readonly dir = mkdtempSync(join(tmpdir(), 'lookaside-redis-'));
  private readonly killOnExit = () => this.killAll();
  /** Why a server is gone before stop(), if one is. */
  failure: string | undefined;
  /** Servers a test killed on purpose: their exit is no failure. */
  private readonly killed = new Set<ChildProcess>();

  /** Servers that take another access than `access` (Sentinels take no password). */
  private readonly accessByPort = new Map<number, RedisAccess>();

  /** `access`: how ask() reaches the servers. */
  constructor(readonly access: RedisAccess = {}) {
    process.once('exit', this.killOnExit);
  }

  /** SIGKILLs one server (a crash, not a shutdown) and resolves once it is gone. */
  async kill(child: ChildProcess): Promise<void> {
    this.killed.add(child);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  accessOf(port: number): RedisAccess {
    return this.accessByPort.get(port) ?? this.access;
  }

  setAccess(port: number, access: RedisAccess): void {
    this.accessByPort.set(port, access);
  }

  spawn(args: string[]): ChildProcess {
    const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('error', (error) => (this.failure = `cannot start redis-server (${error.message}); install it: apt-get install redis-server`));
    child.once('exit', (code, signal) => {
      if (!this.killed.has(child)) this.failure ??= `redis-server ${args[0]} ${args[1]} exited (${signal ?? code})`;
    });
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
    return cliWith(this.accessOf(port), port, args).catch(() => undefined);
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
  /**
   * With replicas: SIGKILLs the primary owning `key`'s slot and resolves once its replica has
   * taken the slot over and every surviving node says the cluster is ok.
   */
  killPrimaryOf(key: string): Promise<{ from: number; to: number }>;
  /** cli() with the cluster's password. */
  cli(port: number, ...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  /** One replica per primary (6 servers), so a primary can fail over. */
  replicas?: boolean;
  /** requirepass and masterauth on every node. */
  password?: string;
  /** TLS only, the cluster bus and replication included. */
  tls?: RedisTestTls;
}

/** requirepass and masterauth: clients and replicas both need the password. */
const passwordArgs = (password: string | undefined) => (password === undefined ? [] : ['--requirepass', password, '--masterauth', password]);

/** One line of CLUSTER NODES: who serves which slots, and whose replica a node is. */
interface ClusterNode {
  id: string;
  port: number;
  primary: boolean;
  failed: boolean;
  /** A replica's primary. */
  primaryId: string | undefined;
  slots: Array<[number, number]>;
}

function parseClusterNodes(text: string): ClusterNode[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id, address, flags, primaryId, , , , , ...slots] = line.trim().split(' ');
      return {
        id,
        port: Number(/:(\d+)@/.exec(address)?.[1]),
        primary: flags.split(',').includes('master'),
        failed: /fail/.test(flags),
        primaryId: primaryId === '-' ? undefined : primaryId,
        slots: slots.filter((r) => !r.startsWith('[')).map((r) => {
          const [from, to] = r.split('-').map(Number);
          return [from, to ?? from] as [number, number];
        }),
      };
    });
}

/** Three primaries (each with a replica if asked), all 16384 slots assigned and agreed on by every node. */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<TestRedisCluster> {
  const access: RedisAccess = { password: options.password, tls: options.tls };
  const processes = new Processes(access);
  const count = options.replicas ? 6 : 3;
  try {
    const all = await freePorts(2 * count);
    const [ports, busPorts] = [all.slice(0, count), all.slice(count)];
    const servers = new Map<number, ChildProcess>();
    for (const [i, port] of ports.entries()) {
      const dir = join(processes.dir, `node-${i}`);
      mkdirSync(dir);
      const server = processes.spawn([
        ...listenArgs(port, options.tls),
        ...(options.tls ? ['--tls-cluster', 'yes'] : []),
        // The bus port must be free too; port + 10000 (the default) may not be.
        '--cluster-port', String(busPorts[i]),
        '--cluster-enabled', 'yes',
        '--cluster-config-file', join(dir, 'nodes.conf'),
        '--cluster-node-timeout', String(CLUSTER_NODE_TIMEOUT_MS),
        '--dir', dir,
        ...passwordArgs(options.password),
        ...COMMON,
      ]);
      servers.set(port, server);
    }
    for (const port of ports) await waitFor(`redis-server :${port}`, async () => ((await processes.ask(port, 'PING')) === 'PONG' ? true : undefined), STARTUP_TIMEOUT_MS, 20);
    const create = ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', options.replicas ? '1' : '0', '--cluster-yes'];
    const env = options.password === undefined ? process.env : { ...process.env, REDISCLI_AUTH: options.password };
    await run('redis-cli', [...cliAccessArgs(access), ...create], { timeout: STARTUP_TIMEOUT_MS, env });
    for (const port of ports) {
      await waitFor(
        `cluster_state:ok on :${port}`,
        async () => {
          const info = (await processes.ask(port, 'CLUSTER', 'INFO')) ?? '';
          return /cluster_state:ok/.test(info) && new RegExp(`cluster_known_nodes:${count}\\b`).test(info) ? true : undefined;
        },
        STARTUP_TIMEOUT_MS,
        50,
      );
    }
    if (options.replicas) {
      // Every replica linked to its primary, so what a primary holds is on its replica too.
      for (const port of ports) {
        await waitFor(
          `:${port} a primary or a replica in sync`,
          async () => {
            const info = (await processes.ask(port, 'INFO', 'replication')) ?? '';
            return /role:master/.test(info) || /master_link_status:up/.test(info) ? true : undefined;
          },
          STARTUP_TIMEOUT_MS,
          50,
        );
      }
    }
    const live = new Set(ports);
    return {
      nodes: ports.slice(0, 3).map((port) => ({ host: '127.0.0.1', port })),
      killPrimaryOf: async (key: string) => {
        if (!options.replicas) throw new Error('killPrimaryOf: the cluster has no replicas');
        const [seed] = live;
        const slot = Number(await cliWith(access, seed, ['CLUSTER', 'KEYSLOT', key]));
        const nodes = parseClusterNodes(await cliWith(access, seed, ['CLUSTER', 'NODES']));
        const owner = nodes.find((n) => n.primary && n.slots.some(([from, to]) => slot >= from && slot <= to));
        const replica = nodes.find((n) => n.primaryId === owner?.id);
        if (!owner || !replica) throw new Error(`slot ${slot}: no primary with a replica in ${JSON.stringify(nodes)}`);
        await processes.kill(servers.get(owner.port)!);
        live.delete(owner.port);
        await waitFor(
          `:${replica.port} to take slot ${slot} over`,
          async () => {
            const now = parseClusterNodes((await processes.ask(replica.port, 'CLUSTER', 'NODES')) ?? '');
            return now.find((n) => n.port === replica.port)?.primary ? true : undefined;
          },
          STARTUP_TIMEOUT_MS,
          50,
        );
        for (const port of live) {
          await waitFor(`cluster_state:ok on :${port}`, async () => (/cluster_state:ok/.test((await processes.ask(port, 'CLUSTER', 'INFO')) ?? '') ? true : undefined), STARTUP_TIMEOUT_MS, 50);
        }
        return { from: owner.port, to: replica.port };
      },
      cli: (port, ...args) => cliWith(access, port, args),
      stop: () => processes.stop(),
    };
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
  /** cli() to a primary or replica, with the set's password and TLS. */
  cli(port: number, ...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export interface RedisSentinelOptions {
  /** requirepass and masterauth on the primary and the replica (the Sentinels take none). */
  password?: string;
  /** TLS only, for the Sentinels, the primary and the replica, replication included. */
  tls?: RedisTestTls;
}

/** One primary, one replica and three Sentinels (quorum 2), with quick failover timings. */
export async function startRedisSentinel(options: RedisSentinelOptions = {}): Promise<TestRedisSentinel> {
  const access: RedisAccess = { password: options.password, tls: options.tls };
  const processes = new Processes(access);
  try {
    const [primary, replica, ...ports] = await freePorts(5);
    const data = [...passwordArgs(options.password), '--dir', processes.dir, ...COMMON];
    processes.spawn([...listenArgs(primary, options.tls), ...data]);
    processes.spawn([...listenArgs(replica, options.tls), '--replicaof', '127.0.0.1', String(primary), ...data]);
    await waitFor(
      'the replica in sync',
      async () => (/master_link_status:up/.test((await processes.ask(replica, 'INFO', 'replication')) ?? '') ? true : undefined),
      STARTUP_TIMEOUT_MS,
      50,
    );
    const sentinelAccess: RedisAccess = { tls: options.tls };
    for (const [i, port] of ports.entries()) {
      processes.setAccess(port, sentinelAccess);
      // Sentinel rewrites its configuration file, so each gets its own.
      const conf = join(processes.dir, `sentinel-${i}.conf`);
      writeFileSync(
        conf,
        [
          ...confLines(listenArgs(port, options.tls)),
          'bind 127.0.0.1',
          `dir ${processes.dir}`,
          `sentinel monitor ${SENTINEL_NAME} 127.0.0.1 ${primary} 2`,
          ...(options.password === undefined ? [] : [`sentinel auth-pass ${SENTINEL_NAME} ${options.password}`]),
          `sentinel down-after-milliseconds ${SENTINEL_NAME} ${SENTINEL_TIMINGS.downAfterMs}`,
          `sentinel failover-timeout ${SENTINEL_NAME} ${SENTINEL_TIMINGS.failoverTimeoutMs}`,
          `sentinel parallel-syncs ${SENTINEL_NAME} 1`,
          '',
        ].join('\n'),
      );
      processes.spawn([conf, '--sentinel', '--loglevel', 'warning']);
    }
    const primaryPort = async (port = ports[0]) => {
      const reply = await processes.ask(port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_NAME);
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
        const reply = await cliWith(sentinelAccess, ports[0], ['SENTINEL', 'FAILOVER', SENTINEL_NAME]);
        if (reply !== 'OK') throw new Error(`SENTINEL FAILOVER: ${reply}`);
        for (const port of ports) {
          await waitFor(`sentinel :${port} to name :${to}`, async () => ((await primaryPort(port)) === to ? true : undefined), STARTUP_TIMEOUT_MS, 50);
        }
        await waitFor('the new primary', async () => (/role:master/.test((await processes.ask(to, 'INFO', 'replication')) ?? '') ? true : undefined), STARTUP_TIMEOUT_MS, 50);
        return { from, to };
      },
      cli: (port, ...args) => cliWith(access, port, args),
      stop: () => processes.stop(),
    };
  } catch (error) {
    await processes.stop();
    throw error;
  }
}

export interface TestRedisServer {
  port: number;
  /** rediss://user:password@127.0.0.1:port */
  url: string;
  cli(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** One Redis over TLS only (client certificates required), reachable only as the ACL user `user`. */
export async function startRedisTlsServer(options: { tls: RedisTestTls; user: string; password: string }): Promise<TestRedisServer> {
  const access: RedisAccess = { user: options.user, password: options.password, tls: options.tls };
  const processes = new Processes(access);
  try {
    const [port] = await freePorts(1);
    const acl = ['--user', 'default', 'off', '--user', options.user, 'on', `>${options.password}`, '~*', '&*', '+@all'];
    processes.spawn([...listenArgs(port, options.tls), ...acl, '--dir', processes.dir, ...COMMON]);
    await waitFor(`redis-server :${port}`, async () => ((await processes.ask(port, 'PING')) === 'PONG' ? true : undefined), STARTUP_TIMEOUT_MS, 20);
    return {
      port,
      url: `rediss://${options.user}:${options.password}@127.0.0.1:${port}`,
      cli: (...args) => cliWith(access, port, args),
      stop: () => processes.stop(),
    };
  } catch (error) {
    await processes.stop();
    throw error;
  }
}
