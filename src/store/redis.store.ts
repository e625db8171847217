import { Logger } from '@nestjs/common';
import { Cluster, Redis } from 'ioredis';
import { describeRedis, readRedisTls, type RedisConnection } from '../config/redis-connection.js';
import type {
  BackendIdentity,
  BackendRecord,
  BackendState,
  ChangeEvent,
  ChangeListener,
  ClusterMember,
  EjectionRules,
  ExpiredBackend,
  LoadSample,
  RegisterOutcome,
  RegistryStore,
  ReportOutcome,
  Sample,
  ServiceSnapshot,
  SmoothedLoad,
  RecentReports,
  TokenCallStats,
} from './types.js';
import { randomUUID } from 'node:crypto';
import { CONFIRM_PRUNE, DEREGISTER, EJECT, EXPIRE, KEY_COUNT, PRUNE, REGISTER, REPORT, SET_CLUSTER, SNAPSHOT } from './redis.scripts.js';

type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;
interface Scripts {
  lookasideRegister: ScriptCall;
  lookasideReport: ScriptCall;
  lookasideDeregister: ScriptCall;
  lookasideExpire: ScriptCall;
  lookasideSnapshot: ScriptCall;
  lookasideSetCluster: ScriptCall;
  lookasideEject: ScriptCall;
  lookasidePrune: ScriptCall;
  lookasideConfirmPrune: ScriptCall;
}

const STAT_FIELDS = ['started', 'finished', 'failed', 'dropped'] as const;
/** How long close() waits for Redis to acknowledge QUIT before dropping the connections. */
const QUIT_TIMEOUT_MS = 1000;
/** Leases one expiry call removes at most; the rest go on the next reaper tick. */
const EXPIRE_BATCH = 1000;
/** How long a prune's tombstone lives; a pruner stalled past it leaves the service listed. */
const PRUNE_TOMBSTONE_TTL_MS = 60_000;
/** How long a pruned service's version is kept, so a quick comeback continues from it. */
const PRUNED_VERSION_TTL_MS = 600_000;

interface StoredSample {
  t: number;
  l: LoadSample | null;
  s?: SmoothedLoad | null;
  r?: RecentReports | null;
}

/** The "l", "s" and "r" members of a stored sample; the script adds "t" (its clock). */
function sampleFields(sample: Sample): string {
  return `"l":${JSON.stringify(sample.load)},"s":${JSON.stringify(sample.smoothed)},"r":${JSON.stringify(sample.recent)}`;
}

type Connection = Redis | Cluster;

function withScripts<C extends Connection>(connection: C): C & Scripts {
  connection.defineCommand('lookasideRegister', { numberOfKeys: KEY_COUNT, lua: REGISTER });
  connection.defineCommand('lookasideReport', { numberOfKeys: KEY_COUNT, lua: REPORT });
  connection.defineCommand('lookasideDeregister', { numberOfKeys: KEY_COUNT, lua: DEREGISTER });
  connection.defineCommand('lookasideExpire', { numberOfKeys: KEY_COUNT, lua: EXPIRE });
  connection.defineCommand('lookasideEject', { numberOfKeys: KEY_COUNT, lua: EJECT });
  connection.defineCommand('lookasideSnapshot', { numberOfKeys: KEY_COUNT + 2, lua: SNAPSHOT });
  connection.defineCommand('lookasidePrune', { numberOfKeys: KEY_COUNT + 1, lua: PRUNE });
  connection.defineCommand('lookasideConfirmPrune', { numberOfKeys: 1, lua: CONFIRM_PRUNE });
  connection.defineCommand('lookasideSetCluster', { numberOfKeys: KEY_COUNT + 1, lua: SET_CLUSTER });
  return connection as C & Scripts;
}

function pairs(flat: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) map.set(flat[i], flat[i + 1]);
  return map;
}

/**
 * The shared store, over one Redis, a Redis Cluster or a Sentinel-managed primary. Keys of one
 * service carry its name as a hash tag ("p:{svc}:..."), so every script touches one slot (and
 * runs on the primary owning it); change events go out on a sharded pub/sub channel of the same
 * slot. The set of known services is one key, read and written by single-key commands only.
 */
export class RedisStore implements RegistryStore {
  readonly shared = true;
  readonly description: string;
  private readonly redis: Connection & Scripts;
  /** The Cluster itself (it keeps sharded subscriber connections of its own), else a duplicate. */
  private readonly subscriber: Connection;
  private readonly listeners = new Map<string, Set<ChangeListener>>();
  private readonly resyncListeners = new Set<() => void>();
  /** The connection's last error, until it is ready again ('' = none). */
  private lastError = '';

  constructor(
    connection: RedisConnection,
    private readonly prefix: string,
    private readonly statsWindowMs: number,
  ) {
    this.description = describeRedis(connection);
    const log = new Logger('RedisStore');
    // ioredis reconnects by itself; say so once per outage instead of once per retry.
    const warn = (error: Error) => {
      if (error.message !== this.lastError) log.warn(`Redis: ${error.message}`);
      this.lastError = error.message;
    };
    const resync = () => {
      for (const listener of this.resyncListeners) listener();
    };
    const tls = readRedisTls(connection.tlsFiles);
    if (connection.mode === 'cluster') {
      const cluster = new Cluster(connection.nodes, {
        // SSUBSCRIBE goes to the primary owning the channel's slot, over a connection per primary.
        shardedSubscribers: true,
        enableAutoPipelining: true,
        redisOptions: { username: connection.username, password: connection.password, tls: connection.tls ? tls : undefined },
      });
      this.redis = withScripts(cluster);
      this.subscriber = cluster;
      cluster.on('error', warn);
      cluster.on('node error', warn);
      cluster.on('ready', () => (this.lastError = ''));
      // The sharded subscribers are rebuilt and resubscribed after a node is lost or the slots
      // move; events published meanwhile are lost. The first one comes with the initial connect.
      let subscribersReadyOnce = false;
      cluster.on('subscribersReady', () => {
        if (subscribersReadyOnce) resync();
        subscribersReadyOnce = true;
      });
    } else {
      const redis =
        connection.mode === 'single'
          ? new Redis(connection.url, { enableAutoPipelining: true, ...(connection.url.startsWith('rediss://') ? { tls } : {}) })
          : new Redis({
              enableAutoPipelining: true,
              // A write that reaches a primary just demoted by a failover reconnects (to the new
              // primary, per the Sentinels) and is sent again: a script refused with READONLY wrote nothing.
              reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 2 : false),
              sentinels: connection.sentinels,
              name: connection.name,
              username: connection.username,
              password: connection.password,
              sentinelPassword: connection.sentinelPassword,
              // TLS to the primary (tls, which ioredis applies in Sentinel mode only when asked) and to the Sentinels.
              tls: connection.tls ? tls : undefined,
              enableTLSForSentinelMode: connection.tls,
              sentinelTLS: connection.tls ? tls : undefined,
              // Reconnect as soon as the Sentinels announce a new primary, not at the next error.
              failoverDetector: true,
            });
      this.redis = withScripts(redis);
      // Asks the Sentinels for the primary too, so it follows failovers like the command connection.
      this.subscriber = redis.duplicate();
      for (const connection of [redis, this.subscriber]) {
        connection.on('error', warn);
        connection.on('ready', () => (this.lastError = ''));
      }
      let subscriberReadyOnce = false;
      this.subscriber.on('ready', () => {
        // ioredis re-subscribes by itself after a reconnect; events sent meanwhile are lost.
        if (subscriberReadyOnce) resync();
        subscriberReadyOnce = true;
      });
    }
    this.subscriber.on('smessage', (channel: string, message: string) => this.deliver(channel, message));
  }

  async register(
    backend: BackendIdentity,
    sample: Sample,
    leaseTtlMs: number,
    maxBackends: number,
    maxServices = Number.POSITIVE_INFINITY,
  ): Promise<RegisterOutcome> {
    const [known, count] = await Promise.all([
      this.redis.sismember(this.servicesKey(), backend.service),
      this.redis.scard(this.servicesKey()),
    ]);
    if (!known && count >= maxServices) return { result: 'too-many-services' };
    const [result, detail] = (await this.redis.lookasideRegister(
      ...this.keys(backend.service),
      backend.id,
      backend.session,
      JSON.stringify(backend),
      sample.state,
      sampleFields(sample),
      leaseTtlMs,
      maxBackends,
      this.channel(backend.service),
      backend.principal,
    )) as [string, number | string];
    if (result === 'full') return { result: 'full' };
    if (result === 'owned') return { result: 'owned', principal: String(detail) };
    // After the script, never beside it: see PRUNE in redis.scripts.ts.
    await this.redis.sadd(this.servicesKey(), backend.service);
    return { result: 'registered', version: Number(detail) };
  }

  async report(service: string, id: string, session: string, sample: Sample, leaseTtlMs: number, urgent: boolean): Promise<ReportOutcome> {
    return (await this.redis.lookasideReport(
      ...this.keys(service),
      id,
      session,
      sample.state,
      sampleFields(sample),
      leaseTtlMs,
      this.channel(service),
      urgent ? '1' : '0',
    )) as ReportOutcome;
  }

  async eject(service: string, id: string, rules: EjectionRules): Promise<boolean> {
    const ejected = await this.redis.lookasideEject(
      ...this.keys(service),
      id,
      rules.baseMs,
      rules.maxMs,
      rules.resetAfterMs,
      rules.maxEjected,
      this.channel(service),
    );
    return Number(ejected) === 1;
  }

  async deregister(service: string, id: string, session: string): Promise<boolean> {
    const removed = await this.redis.lookasideDeregister(...this.keys(service), id, session, this.channel(service));
    return Number(removed) === 1;
  }

  async expireLeases(): Promise<ExpiredBackend[]> {
    const services = await this.listServices();
    const results = await Promise.all(
      services.map(
        (service) =>
          this.redis.lookasideExpire(...this.keys(service), this.channel(service), EXPIRE_BATCH) as Promise<string[]>,
      ),
    );
    return results.flatMap((ids, i) => ids.map((id) => ({ service: services[i], id })));
  }

  async snapshot(service: string): Promise<ServiceSnapshot> {
    const window = Math.floor(Date.now() / this.statsWindowMs) - 1;
    const [members, states, loads, version, stats, cluster, ejections, since, now] = (await this.redis.lookasideSnapshot(
      ...this.keys(service),
      this.statsKey(service, window),
      this.clusterKey(service),
    )) as [string[], string[], string[], string, string[], string, string[], string[], number];
    const stateById = pairs(states);
    const loadById = pairs(loads);
    const ejectionById = pairs(ejections);
    const sinceById = pairs(since);
    const backends: BackendRecord[] = [];
    for (const [id, identityJson] of pairs(members)) {
      const identity = JSON.parse(identityJson) as BackendIdentity;
      const sample = JSON.parse(loadById.get(id) ?? '{"t":0,"l":null,"s":null}') as StoredSample;
      const ejection = ejectionById.get(id)?.split(':').map(Number);
      backends.push({
        ...identity,
        principal: identity.principal ?? '',
        state: (stateById.get(id) ?? 'SERVING') as BackendState,
        load: sample.l,
        smoothed: sample.s ?? null,
        recent: sample.r ?? null,
        lastReportMs: sample.t,
        registeredAtMs: Number(sinceById.get(id) ?? sample.t),
        ejection: ejection ? { untilMs: ejection[0], count: ejection[1] } : null,
      });
    }
    backends.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const clientStats: Record<string, TokenCallStats> = {};
    for (const [field, value] of pairs(stats)) {
      const cut = field.lastIndexOf('|');
      const token = field.slice(0, cut);
      const counts = (clientStats[token] ??= { started: 0, finished: 0, failed: 0, dropped: 0 });
      counts[field.slice(cut + 1) as keyof TokenCallStats] = Number(value);
    }
    return {
      service,
      nowMs: Number(now),
      version: Number(version),
      backends,
      clientStats,
      cluster: cluster ? (JSON.parse(cluster) as ClusterMember[]) : null,
    };
  }

  async setClusterMembers(service: string, members: ClusterMember[] | null): Promise<boolean> {
    const changed = await this.redis.lookasideSetCluster(
      ...this.keys(service),
      this.clusterKey(service),
      members ? JSON.stringify(members) : '',
      this.channel(service),
    );
    if (members) await this.redis.sadd(this.servicesKey(), service);
    return Number(changed) === 1;
  }

  async listServices(): Promise<string[]> {
    return (await this.redis.smembers(this.servicesKey())).sort();
  }

  async pruneServices(): Promise<string[]> {
    const services = await this.listServices();
    const nonce = randomUUID();
    const tombstoned = await Promise.all(
      services.map((service) => this.redis.lookasidePrune(...this.keys(service), this.clusterKey(service), nonce, PRUNE_TOMBSTONE_TTL_MS, PRUNED_VERSION_TTL_MS)),
    );
    const candidates = services.filter((_, i) => Number(tombstoned[i]) === 1);
    if (candidates.length === 0) return [];
    await this.redis.srem(this.servicesKey(), ...candidates);
    const confirmed = await Promise.all(candidates.map((service) => this.redis.lookasideConfirmPrune(this.keys(service)[8], nonce)));
    const revived = candidates.filter((_, i) => Number(confirmed[i]) !== 1);
    if (revived.length > 0) await this.redis.sadd(this.servicesKey(), ...revived);
    return candidates.filter((_, i) => Number(confirmed[i]) === 1);
  }

  async ping(): Promise<void> {
    // Not connected: say why at once (a certificate refused, a connection refused) instead of
    // leaving the probe to time out.
    if (this.redis.status !== 'ready' && this.lastError) throw new Error(`not connected: ${this.lastError}`);
    await this.redis.ping();
  }

  async addClientStats(batch: Map<string, Map<string, TokenCallStats>>): Promise<void> {
    const window = Math.floor(Date.now() / this.statsWindowMs);
    // Keep the window being filled and the last complete one.
    const keepMs = this.statsWindowMs * 3;
    await Promise.all(
      [...batch].map(([service, tokens]) => {
        const key = this.statsKey(service, window);
        const pipeline = this.redis.pipeline();
        for (const [token, counts] of tokens) {
          for (const field of STAT_FIELDS) {
            if (counts[field] > 0) pipeline.hincrby(key, `${token}|${field}`, counts[field]);
          }
        }
        pipeline.pexpire(key, keepMs);
        return pipeline.exec();
      }),
    );
  }

  async subscribe(service: string, listener: ChangeListener): Promise<() => Promise<void>> {
    const channel = this.channel(service);
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      await this.subscriber.ssubscribe(channel);
    }
    set.add(listener);
    return async () => {
      const current = this.listeners.get(channel);
      if (!current?.delete(listener) || current.size > 0) return;
      this.listeners.delete(channel);
      await this.subscriber.sunsubscribe(channel);
    };
  }

  onResync(listener: () => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    // QUIT waits for Redis; when Redis is down it would wait forever, so give it a moment only.
    const connections = new Set<Connection>([this.subscriber, this.redis]);
    const quit = Promise.allSettled([...connections].map((c) => c.quit()));
    await Promise.race([quit, new Promise((resolve) => setTimeout(resolve, QUIT_TIMEOUT_MS).unref())]);
    for (const connection of connections) connection.disconnect();
  }

  private deliver(channel: string, message: string): void {
    const listeners = this.listeners.get(channel);
    if (!listeners) return;
    const service = channel.slice(this.prefix.length + 2, channel.length - '}:events'.length);
    const event = { ...(JSON.parse(message) as Omit<ChangeEvent, 'service'>), service };
    for (const listener of listeners) listener(event);
  }

  private keys(service: string): string[] {
    const base = `${this.prefix}:{${service}}`;
    return [
      `${base}:members`,
      `${base}:sessions`,
      `${base}:states`,
      `${base}:loads`,
      `${base}:leases`,
      `${base}:version`,
      `${base}:ejections`,
      `${base}:since`,
      `${base}:pruning`,
    ];
  }

  private channel(service: string): string {
    return `${this.prefix}:{${service}}:events`;
  }

  private statsKey(service: string, window: number): string {
    return `${this.prefix}:{${service}}:client-stats:${window}`;
  }

  private clusterKey(service: string): string {
    return `${this.prefix}:{${service}}:cluster`;
  }

  private servicesKey(): string {
    return `${this.prefix}:services`;
  }
}
