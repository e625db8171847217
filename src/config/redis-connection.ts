/** Where the shared state lives: one Redis, a Redis Cluster, or a primary found through Sentinel. */
export interface HostPort {
  host: string;
  port: number;
}

/** Credentials and TLS for Cluster nodes or the Sentinel-managed primary (a URL carries its own). */
export interface RedisAuth {
  username: string | undefined;
  password: string | undefined;
  /** TLS with the system's CAs, as a rediss:// URL does. */
  tls: boolean;
}

export type RedisConnection =
  | { mode: 'single'; url: string }
  | ({ mode: 'cluster'; nodes: HostPort[] } & RedisAuth)
  | ({ mode: 'sentinel'; sentinels: HostPort[]; name: string; sentinelPassword: string | undefined } & RedisAuth);

/** The master set Sentinel is asked for when REDIS_SENTINEL_NAME is unset (Sentinel's own example name). */
export const DEFAULT_SENTINEL_NAME = 'mymaster';

type Env = Record<string, string | undefined>;

const set = (env: Env, name: string): string | undefined => env[name]?.trim() || undefined;

/** "host:port" or "[v6]:port", comma-separated; anything else names the variable in the error. */
export function parseHostPorts(name: string, raw: string): HostPort[] {
  const entries = raw.split(',').map((s) => s.trim());
  if (entries.some((s) => s === '')) throw new Error(`${name}=${raw}: an empty entry; expected host:port,host:port,...`);
  return entries.map((entry) => {
    const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(entry);
    const port = match ? Number(match[3]) : 0;
    if (!match || port < 1 || port > 65535) throw new Error(`${name}: "${entry}" is not host:port (IPv6 as [addr]:port, port 1-65535)`);
    return { host: match[1] ?? match[2], port };
  });
}

function readTls(env: Env): boolean {
  const raw = (set(env, 'REDIS_TLS') ?? 'off').toLowerCase();
  if (raw !== 'on' && raw !== 'off') throw new Error(`REDIS_TLS=${env.REDIS_TLS}: expected on or off`);
  return raw === 'on';
}

/** Undefined when no Redis is configured (the in-memory store). */
export function loadRedisConnection(env: Env): RedisConnection | undefined {
  const url = set(env, 'REDIS_URL');
  const clusterNodes = set(env, 'REDIS_CLUSTER_NODES');
  const sentinels = set(env, 'REDIS_SENTINELS');
  const given = [url && 'REDIS_URL', clusterNodes && 'REDIS_CLUSTER_NODES', sentinels && 'REDIS_SENTINELS'].filter(Boolean);
  if (given.length > 1) throw new Error(`${given.join(' and ')} are set: set only one of REDIS_URL, REDIS_CLUSTER_NODES and REDIS_SENTINELS`);
  const extras = ['REDIS_USERNAME', 'REDIS_PASSWORD', 'REDIS_TLS', 'REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_PASSWORD'].filter((n) => set(env, n));
  if (url) {
    if (!/^rediss?:\/\//.test(url)) throw new Error(`REDIS_URL=${url.replace(/\/\/[^@/]*@/, '//***@')}: expected redis://host:port or rediss://host:port`);
    if (extras.length > 0) throw new Error(`${extras.join(', ')}: only for REDIS_CLUSTER_NODES or REDIS_SENTINELS; REDIS_URL carries its own credentials and TLS (rediss://)`);
    return { mode: 'single', url };
  }
  const auth: RedisAuth = { username: set(env, 'REDIS_USERNAME'), password: env.REDIS_PASSWORD || undefined, tls: readTls(env) };
  if (clusterNodes) {
    const sentinelOnly = extras.filter((n) => n.startsWith('REDIS_SENTINEL_'));
    if (sentinelOnly.length > 0) throw new Error(`${sentinelOnly.join(', ')}: only for REDIS_SENTINELS`);
    return { mode: 'cluster', nodes: parseHostPorts('REDIS_CLUSTER_NODES', clusterNodes), ...auth };
  }
  if (sentinels) {
    return {
      mode: 'sentinel',
      sentinels: parseHostPorts('REDIS_SENTINELS', sentinels),
      name: set(env, 'REDIS_SENTINEL_NAME') ?? DEFAULT_SENTINEL_NAME,
      sentinelPassword: env.REDIS_SENTINEL_PASSWORD || undefined,
      ...auth,
    };
  }
  if (extras.length > 0) throw new Error(`${extras.join(', ')} set without REDIS_CLUSTER_NODES or REDIS_SENTINELS`);
  return undefined;
}

/** For logs and readiness: the mode and addresses, never a password. */
export function describeRedis(connection: RedisConnection): string {
  const list = (nodes: HostPort[]) => nodes.map((n) => (n.host.includes(':') ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`)).join(',');
  switch (connection.mode) {
    case 'single':
      return `Redis store at ${connection.url.replace(/\/\/[^@/]*@/, '//***@')}`;
    case 'cluster':
      return `Redis Cluster store (seeds ${list(connection.nodes)}${connection.tls ? ', TLS' : ''})`;
    case 'sentinel':
      return `Redis Sentinel store (master set "${connection.name}" via ${list(connection.sentinels)}${connection.tls ? ', TLS' : ''})`;
  }
}
