import { loadRedisConnection, type RedisConnection } from './redis-connection.js';

/**
 * Every timing, limit and threshold of the service, with its environment variable and
 * default. README.md's configuration table lists the same entries.
 */
export interface Limits {
  /** Bytes in a service name (grpclb names are under 256 bytes, so 255). */
  maxServiceNameBytes: number;
  maxHostBytes: number;
  maxZoneBytes: number;
  maxLabels: number;
  maxLabelKeyBytes: number;
  maxLabelValueBytes: number;
  maxNamedMetrics: number;
  maxMetricNameBytes: number;
  /** Highest believable utilization (ORCA allows values above 1 for oversubscribed cpu). */
  maxUtilization: number;
  /** Highest believable requests or errors per second from one backend. */
  maxRatePerSecond: number;
  maxRequestsInFlight: number;
  /** Backends one service may hold; a registration past it gets RESOURCE_EXHAUSTED. */
  maxBackendsPerService: number;
  /** Tokens in one ClientLoad / ClientStats message. */
  maxStatsTokens: number;
  /** Largest gRPC message the service accepts. */
  maxMessageBytes: number;
  /** Known services at most; a registration for a new one past it gets RESOURCE_EXHAUSTED. */
  maxServices: number;
  /** Concurrent HTTP/2 streams (calls) one client connection may hold, whatever the API. */
  maxStreamsPerConnection: number;
  /** Open report streams one client connection may hold. */
  maxReportStreamsPerConnection: number;
  /** Registrations one client connection may make per second (a bucket of this many, refilled continuously). */
  maxRegistrationsPerSecond: number;
  /** Largest token file accepted. */
  maxTokenFileBytes: number;
  /** Dashboard event streams open at once. */
  maxDashboardClients: number;
  /** Resource names one xDS request may subscribe to, per resource type. */
  maxXdsResourceNames: number;
  /** Clusters in one LRS report. */
  maxLrsClusters: number;
}

/** TLS on both listeners; null = plaintext. */
export interface TlsSettings {
  certFile: string;
  keyFile: string;
  /** Clients must present a certificate signed by this CA (mTLS); undefined = no client certificates. */
  clientCaFile: string | undefined;
  /** The admin HTTP port serves TLS with the same certificate. */
  admin: boolean;
}

export type AuthMode = 'off' | 'tokens' | 'kubernetes';
/** The reading APIs that can be made to require authentication. */
export type ReaderApi = 'watch' | 'balance_load' | 'xds' | 'registry' | 'admin';
export const READER_APIS: readonly ReaderApi[] = ['watch', 'balance_load', 'xds', 'registry', 'admin'];

export interface AuthSettings {
  mode: AuthMode;
  /** The token file (token -> services); required in tokens mode, optional beside kubernetes. */
  tokenFile: string | undefined;
  /** Reading APIs that require a credential too (reporters always do once auth is on). */
  readers: ReadonlySet<ReaderApi>;
}

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface LogSettings {
  level: LogLevel;
  format: 'json' | 'text';
}

export interface PolicyOptions {
  /** A backend's weight is kept at or above this fraction of the mean weight. */
  minWeightRatio: number;
  /** ... and at or below this multiple of the mean weight. */
  maxWeightRatio: number;
  /** How strongly the error rate lowers a weight (grpc's WRR uses the same idea). */
  errorUtilizationPenalty: number;
  /** The heaviest backend's integer weight; the others scale to it. */
  weightResolution: number;
  /** Weight of the newest report in the moving averages (1 = no smoothing). */
  ewmaAlpha: number;
  /** A new backend's own reports count only after this; until then it gets the mean weight. */
  blackoutMs: number;
  /** A new (or readmitted) backend's weight ramps up to its full value over this long... */
  slowStartMs: number;
  /** ...starting from this fraction of it. */
  slowStartInitialFactor: number;
  /** A report older than this no longer sets a weight (the mean is used instead). */
  weightExpiryMs: number;
  /**
   * Calls/s a backend must serve for its capacity estimate to count in full; below, it counts
   * in proportion and the fleet's mean makes up the rest (0 = always in full), so a low
   * estimate from a trickle of calls cannot keep the calls that would correct it away.
   */
  capacityMinRps: number;
  /** Error rate (errors over calls) at or above which a backend may be ejected; 0 = never eject. */
  ejectionErrorRate: number;
  /** A backend's error rate is judged over its newest reports back until they hold this many calls... */
  ejectionMinCalls: number;
  /** ...looking back at most this far; fewer calls than that in it, and it is not judged. */
  ejectionWindowMs: number;
  /** Fewer failures than this in the judged calls eject nobody, whatever the rate. */
  ejectionMinFailures: number;
  /** Length of a first ejection; each one in a row doubles it, up to ejectionMaxMs. */
  ejectionBaseMs: number;
  ejectionMaxMs: number;
  /** An ejection this long after the previous one ended counts as a first one again. */
  ejectionResetMs: number;
  /** Most of a service's backends that may be out at once (at least one of two or more). */
  maxEjectedFraction: number;
  /**
   * The utilization up to which backends take calls avoided elsewhere for errors: no ejection
   * that would push the others' mean past it, and no more error penalty on weights than keeps
   * each of the others under it.
   */
  targetUtilization: number;
  /** Mean utilization above which calls are dropped (load shedding); 0 = never drop. */
  dropUtilization: number;
  /** Clients that name their zone prefer its backends while those stay under targetUtilization. */
  zoneAware: boolean;
  /** Most calls ever dropped, parts per million. */
  maxDropPpm: number;
}

export interface LookasideConfig {
  grpcAddress: string;
  httpPort: number;
  httpHost: string;
  /** REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS (one at most); undefined = the in-memory store. */
  redis: RedisConnection | undefined;
  redisKeyPrefix: string;
  leaseTtlMs: number;
  reportIntervalMs: number;
  reaperIntervalMs: number;
  loadPushIntervalMs: number;
  resyncIntervalMs: number;
  clientStatsIntervalMs: number;
  clientStatsWindowMs: number;
  maxServerListEntries: number;
  /** Backends each client of a service is given at most (deterministic subsetting); 0 = all. */
  subsetSize: number;
  /** How often certificate and token files are checked for changes. */
  fileReloadIntervalMs: number;
  /** How often services without backends or a Kubernetes view are forgotten. */
  servicePruneIntervalMs: number;
  /** How often the dashboard's view is re-read while someone watches (and how old a view a scrape may reuse). */
  fleetRefreshMs: number;
  /** Backends the fleet view (dashboard, per-backend metrics) holds at most. */
  fleetMaxBackends: number;
  /** How often grpc.health.v1 Watch streams re-check readiness. */
  healthCheckIntervalMs: number;
  /** Longest a readiness check waits for the store before it counts as failed. */
  healthCheckTimeoutMs: number;
  /** Comment lines sent this often on idle dashboard event streams, so proxies keep them open. */
  dashboardKeepAliveMs: number;
  tls: TlsSettings | null;
  auth: AuthSettings;
  log: LogSettings;
  policy: PolicyOptions;
  limits: Limits;
}

type Env = Record<string, string | undefined>;

interface Setting<T> {
  env: string;
  fallback: T;
  min?: number;
  max?: number;
}

function readNumber(env: Env, { env: name, fallback, min = 0, max = Number.MAX_SAFE_INTEGER }: Setting<number>): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${name}=${raw}: expected a number from ${min} to ${max}`);
  }
  return value;
}

function readString(env: Env, { env: name, fallback }: Setting<string>): string {
  const raw = env[name];
  return raw === undefined || raw.trim() === '' ? fallback : raw.trim();
}

function readChoice<T extends string>(env: Env, name: string, choices: readonly T[], fallback: T): T {
  const value = readString(env, { env: name, fallback }).toLowerCase();
  if (!(choices as readonly string[]).includes(value)) throw new Error(`${name}=${env[name]}: expected one of ${choices.join(', ')}`);
  return value as T;
}

function optionalFile(env: Env, name: string): string | undefined {
  return env[name]?.trim() || undefined;
}

function loadTls(env: Env): TlsSettings | null {
  const certFile = optionalFile(env, 'LOOKASIDE_TLS_CERT_FILE');
  const keyFile = optionalFile(env, 'LOOKASIDE_TLS_KEY_FILE');
  const clientCaFile = optionalFile(env, 'LOOKASIDE_TLS_CLIENT_CA_FILE');
  if (!certFile !== !keyFile) throw new Error('LOOKASIDE_TLS_CERT_FILE and LOOKASIDE_TLS_KEY_FILE are set together or not at all');
  if (!certFile || !keyFile) {
    if (clientCaFile) throw new Error('LOOKASIDE_TLS_CLIENT_CA_FILE needs LOOKASIDE_TLS_CERT_FILE and LOOKASIDE_TLS_KEY_FILE: client certificates are checked over TLS');
    return null;
  }
  return { certFile, keyFile, clientCaFile, admin: readChoice(env, 'LOOKASIDE_TLS_ADMIN', ['on', 'off'], 'on') === 'on' };
}

function loadAuth(env: Env): AuthSettings {
  const mode = readChoice<AuthMode>(env, 'LOOKASIDE_AUTH_MODE', ['off', 'tokens', 'kubernetes'], 'off');
  const tokenFile = optionalFile(env, 'LOOKASIDE_AUTH_TOKEN_FILE');
  if (mode === 'tokens' && !tokenFile) throw new Error('LOOKASIDE_AUTH_MODE=tokens needs LOOKASIDE_AUTH_TOKEN_FILE');
  const listed = readString(env, { env: 'LOOKASIDE_AUTH_READERS', fallback: 'none' })
    .toLowerCase()
    .split(/[\s,]+/)
    .filter((s) => s !== '');
  const readers = new Set<ReaderApi>();
  for (const entry of listed) {
    if (entry === 'none') continue;
    if (entry === 'all') READER_APIS.forEach((api) => readers.add(api));
    else if ((READER_APIS as readonly string[]).includes(entry)) readers.add(entry as ReaderApi);
    else throw new Error(`LOOKASIDE_AUTH_READERS: "${entry}" is not one of none, all, ${READER_APIS.join(', ')}`);
  }
  if (readers.size > 0 && mode === 'off') throw new Error('LOOKASIDE_AUTH_READERS needs LOOKASIDE_AUTH_MODE=tokens or kubernetes');
  return { mode, tokenFile, readers };
}

export function loadConfig(env: Env = process.env): LookasideConfig {
  const num = (name: string, fallback: number, min?: number, max?: number) =>
    readNumber(env, { env: name, fallback, min, max });
  const leaseTtlMs = num('LOOKASIDE_LEASE_TTL_MS', 3000, 200, 600_000);
  const reportIntervalMs = num('LOOKASIDE_REPORT_INTERVAL_MS', 500, 50, 600_000);
  if (reportIntervalMs >= leaseTtlMs) {
    throw new Error(
      `LOOKASIDE_REPORT_INTERVAL_MS (${reportIntervalMs}) must be below LOOKASIDE_LEASE_TTL_MS (${leaseTtlMs}), or every lease expires between reports`,
    );
  }
  const clientStatsIntervalMs = num('LOOKASIDE_CLIENT_STATS_INTERVAL_MS', 10_000, 0, 3_600_000);
  if (clientStatsIntervalMs > 0 && clientStatsIntervalMs < 1000) {
    throw new Error('LOOKASIDE_CLIENT_STATS_INTERVAL_MS must be 0 (off) or at least 1000: grpclb clients ignore shorter intervals');
  }
  const minWeightRatio = num('LOOKASIDE_POLICY_MIN_WEIGHT_RATIO', 0.1, 0.001, 1);
  const maxWeightRatio = num('LOOKASIDE_POLICY_MAX_WEIGHT_RATIO', 10, 1, 1000);
  return {
    grpcAddress: readString(env, { env: 'LOOKASIDE_GRPC_ADDRESS', fallback: '0.0.0.0:50051' }),
    httpPort: num('LOOKASIDE_HTTP_PORT', 8080, 0, 65535),
    httpHost: readString(env, { env: 'LOOKASIDE_HTTP_HOST', fallback: '0.0.0.0' }),
    redis: loadRedisConnection(env),
    redisKeyPrefix: readString(env, { env: 'LOOKASIDE_REDIS_PREFIX', fallback: 'lookaside' }),
    leaseTtlMs,
    reportIntervalMs,
    reaperIntervalMs: num('LOOKASIDE_REAPER_INTERVAL_MS', 250, 10, 60_000),
    loadPushIntervalMs: num('LOOKASIDE_LOAD_PUSH_INTERVAL_MS', 1000, 0, 600_000),
    resyncIntervalMs: num('LOOKASIDE_RESYNC_INTERVAL_MS', 30_000, 1000, 3_600_000),
    clientStatsIntervalMs,
    clientStatsWindowMs: num('LOOKASIDE_CLIENT_STATS_WINDOW_MS', 10_000, 1000, 3_600_000),
    maxServerListEntries: num('LOOKASIDE_MAX_SERVER_LIST_ENTRIES', 100, 1, 100_000),
    subsetSize: num('LOOKASIDE_SUBSET_SIZE', 0, 0, 100_000),
    fileReloadIntervalMs: num('LOOKASIDE_FILE_RELOAD_INTERVAL_MS', 5000, 100, 3_600_000),
    servicePruneIntervalMs: num('LOOKASIDE_SERVICE_PRUNE_INTERVAL_MS', 60_000, 1000, 86_400_000),
    fleetRefreshMs: num('LOOKASIDE_FLEET_REFRESH_MS', 1000, 100, 600_000),
    fleetMaxBackends: num('LOOKASIDE_FLEET_MAX_BACKENDS', 10_000, 0, 1_000_000),
    healthCheckIntervalMs: num('LOOKASIDE_HEALTH_CHECK_INTERVAL_MS', 5000, 100, 600_000),
    healthCheckTimeoutMs: num('LOOKASIDE_HEALTH_CHECK_TIMEOUT_MS', 2000, 10, 600_000),
    dashboardKeepAliveMs: num('LOOKASIDE_DASHBOARD_KEEPALIVE_MS', 15_000, 100, 600_000),
    tls: loadTls(env),
    auth: loadAuth(env),
    log: {
      level: readChoice<LogLevel>(env, 'LOOKASIDE_LOG_LEVEL', ['error', 'warn', 'info', 'debug'], 'info'),
      format: readChoice(env, 'LOOKASIDE_LOG_FORMAT', ['json', 'text'], 'json'),
    },
    policy: {
      minWeightRatio,
      maxWeightRatio,
      errorUtilizationPenalty: num('LOOKASIDE_POLICY_ERROR_PENALTY', 1, 0, 100),
      weightResolution: num('LOOKASIDE_POLICY_WEIGHT_RESOLUTION', 1000, 1, 1_000_000),
      ewmaAlpha: num('LOOKASIDE_POLICY_EWMA_ALPHA', 0.5, 0.01, 1),
      blackoutMs: num('LOOKASIDE_POLICY_BLACKOUT_MS', 500, 0, 600_000),
      slowStartMs: num('LOOKASIDE_POLICY_SLOW_START_MS', 1500, 0, 600_000),
      slowStartInitialFactor: num('LOOKASIDE_POLICY_SLOW_START_INITIAL', 0.25, 0.01, 1),
      weightExpiryMs: num('LOOKASIDE_POLICY_WEIGHT_EXPIRY_MS', 5000, 100, 3_600_000),
      capacityMinRps: num('LOOKASIDE_POLICY_CAPACITY_MIN_RPS', 1, 0, 1_000_000),
      ejectionErrorRate: num('LOOKASIDE_POLICY_EJECTION_ERROR_RATE', 0.2, 0, 1),
      ejectionMinCalls: num('LOOKASIDE_POLICY_EJECTION_MIN_CALLS', 10, 1, 1_000_000),
      ejectionWindowMs: num('LOOKASIDE_POLICY_EJECTION_WINDOW_MS', 5000, 100, 600_000),
      ejectionMinFailures: num('LOOKASIDE_POLICY_EJECTION_MIN_FAILURES', 3, 1, 1_000_000),
      ejectionBaseMs: num('LOOKASIDE_POLICY_EJECTION_BASE_MS', 10_000, 100, 3_600_000),
      ejectionMaxMs: num('LOOKASIDE_POLICY_EJECTION_MAX_MS', 300_000, 100, 86_400_000),
      ejectionResetMs: num('LOOKASIDE_POLICY_EJECTION_RESET_MS', 60_000, 0, 86_400_000),
      maxEjectedFraction: num('LOOKASIDE_POLICY_MAX_EJECTED_FRACTION', 0.3, 0, 1),
      targetUtilization: num('LOOKASIDE_POLICY_TARGET_UTILIZATION', 0.8, 0.01, 10),
      dropUtilization: num('LOOKASIDE_POLICY_DROP_UTILIZATION', 0, 0, 100),
      zoneAware: readChoice(env, 'LOOKASIDE_POLICY_ZONE_AWARE', ['on', 'off'], 'on') === 'on',
      maxDropPpm: num('LOOKASIDE_POLICY_MAX_DROP_PPM', 500_000, 0, 1_000_000),
    },
    limits: {
      maxServiceNameBytes: 255,
      maxHostBytes: 253,
      maxZoneBytes: 128,
      maxLabels: num('LOOKASIDE_MAX_LABELS', 32, 0, 1024),
      maxLabelKeyBytes: 63,
      maxLabelValueBytes: 255,
      maxNamedMetrics: num('LOOKASIDE_MAX_NAMED_METRICS', 32, 0, 1024),
      maxMetricNameBytes: 128,
      maxUtilization: 100,
      maxRatePerSecond: 10_000_000,
      maxRequestsInFlight: 10_000_000,
      maxBackendsPerService: num('LOOKASIDE_MAX_BACKENDS_PER_SERVICE', 10_000, 1, 1_000_000),
      maxStatsTokens: num('LOOKASIDE_MAX_STATS_TOKENS', 10_000, 1, 1_000_000),
      maxMessageBytes: num('LOOKASIDE_MAX_MESSAGE_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
      maxServices: num('LOOKASIDE_MAX_SERVICES', 10_000, 1, 1_000_000),
      maxStreamsPerConnection: num('LOOKASIDE_MAX_STREAMS_PER_CONNECTION', 1000, 1, 100_000),
      maxReportStreamsPerConnection: num('LOOKASIDE_MAX_REPORT_STREAMS_PER_CONNECTION', 16, 1, 100_000),
      maxRegistrationsPerSecond: num('LOOKASIDE_MAX_REGISTRATIONS_PER_SECOND', 10, 0.1, 100_000),
      maxTokenFileBytes: 1024 * 1024,
      maxDashboardClients: num('LOOKASIDE_MAX_DASHBOARD_CLIENTS', 50, 1, 10_000),
      maxXdsResourceNames: num('LOOKASIDE_MAX_XDS_RESOURCE_NAMES', 1000, 1, 100_000),
      maxLrsClusters: num('LOOKASIDE_MAX_LRS_CLUSTERS', 1000, 1, 100_000),
    },
  };
}

/** Nest injection token for the loaded configuration. */
export const LOOKASIDE_CONFIG = Symbol('LOOKASIDE_CONFIG');
