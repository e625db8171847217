import { readFileSync } from 'node:fs';

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

/** PEM files for TLS to Redis: a private CA instead of the system's, a client certificate for servers that ask. */
export interface RedisTlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** `tlsFiles` only when one of REDIS_TLS_CA_FILE, REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE is set. */
export type RedisConnection = (
  | { mode: 'single'; url: string }
  | ({ mode: 'cluster'; nodes: HostPort[] } & RedisAuth)
  | ({ mode: 'sentinel'; sentinels: HostPort[]; name: string; sentinelPassword: string | undefined } & RedisAuth)
) & { tlsFiles?: RedisTlsFiles };

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

function readTlsFiles(env: Env): RedisTlsFiles | undefined {
  const files = { caFile: set(env, 'REDIS_TLS_CA_FILE'), certFile: set(env, 'REDIS_TLS_CERT_FILE'), keyFile: set(env, 'REDIS_TLS_KEY_FILE') };
  if (!files.certFile !== !files.keyFile) throw new Error('REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE are set together or not at all');
  if (!files.caFile && !files.certFile) return undefined;
  return Object.fromEntries(Object.entries(files).filter(([, v]) => v !== undefined));
}

/** The TLS options the files name, read now so a missing or unreadable file stops the start with its variable's name. */
export function readRedisTls(files: RedisTlsFiles | undefined): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  if (!files) return {};
  const read = (path: string | undefined, name: string) => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`${name}=${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  };
  const tls = { ca: read(files.caFile, 'REDIS_TLS_CA_FILE'), cert: read(files.certFile, 'REDIS_TLS_CERT_FILE'), key: read(files.keyFile, 'REDIS_TLS_KEY_FILE') };
  return Object.fromEntries(Object.entries(tls).filter(([, v]) => v !== undefined));
}

/** Undefined when no Redis is configured (the in-memory store). */
export function loadRedisConnection(env: Env): RedisConnection | undefined {
  const connection = loadConnection(env);
  const tlsFiles = readTlsFiles(env);
  if (!tlsFiles) return connection;
  const names = Object.keys(tlsFiles).map((k) => `REDIS_TLS_${k.replace('File', '').toUpperCase()}_FILE`);
  if (!connection) throw new Error(`${names.join(', ')} set without REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS`);
  const tls = connection.mode === 'single' ? connection.url.startsWith('rediss://') : connection.tls;
  if (!tls) throw new Error(`${names.join(', ')}: only over TLS (a rediss:// REDIS_URL, or REDIS_TLS=on)`);
  return { ...connection, tlsFiles };
}

function loadConnection(env: Env): RedisConnection | undefined {
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
