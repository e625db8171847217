// Every option of the client side, its default, and where a channel finds it.
import { credentials, experimental, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { isIPv4, isIPv6 } from 'node:net';
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { tokenSource, type AuthTokenOptions, type TokenSource } from './auth-token.js';

/** Environment variable read for the lookaside address when nothing else gives one. */
export const LOOKASIDE_ADDRESS_ENV = 'LOOKASIDE_ADDRESS';

/** Channel options a single channel can set to override registerLookaside()'s defaults. */
export const CHANNEL_OPTION = Object.freeze({
  /** Lookaside address for this channel (after the target's authority). */
  address: 'lookaside.address',
  /** Fallback target for this channel, as in LookasideOptions.fallback (string form). */
  fallback: 'lookaside.fallback',
  /** Fallback timeout for this channel, in ms. */
  fallbackTimeoutMs: 'lookaside.fallback_timeout_ms',
  /** The caller's zone, sent in WatchStart. */
  clientZone: 'lookaside.client_zone',
  /**
   * Utilization (0 to 1) below which a backend may take calls another avoids for its
   * failures. Default: DEFAULT_TARGET_UTILIZATION (0.8), the service's default too.
   */
  targetUtilization: 'lookaside.target_utilization',
  /**
   * Backends compared per pick (an integer, at least 1; 1 = EDF's weighted order alone).
   * Default: DEFAULT_PICK_CANDIDATES (2).
   */
  pickCandidates: 'lookaside.pick_candidates',
  /** Whether calls carry their backend's `lb-token` (true/false or 1/0), as in LookasideOptions.sendLoadBalanceToken. */
  sendLoadBalanceToken: 'lookaside.send_lb_token',
});

/** Client defaults. Each is overridable in registerLookaside() (and some per channel). */
export const CLIENT_DEFAULTS = Object.freeze({
  /**
   * How long a new channel waits for its first assignment before it uses the fallback
   * addresses (or fails calls when there are none). A definite failure of the lookaside (e.g.
   * connection refused) does not wait: it falls back, or fails calls, at once.
   */
  fallbackTimeoutMs: 10_000,
  /** Reconnect backoff of the Watch stream (a stream that delivered an assignment reconnects at once). */
  backoff: DEFAULT_BACKOFF,
  /** HTTP/2 keepalive ping interval on the connection to the lookaside, so a dead peer is noticed. */
  keepaliveTimeMs: 20_000,
  /** How long a keepalive ping may go unanswered before the Watch stream is given up. */
  keepaliveTimeoutMs: 10_000,
  /**
   * Calls do not carry the backend's `lb-token` unless asked: the token lets a backend check
   * or account calls per token (grpclb's design), which neither BackendReporter nor the
   * lookaside needs (client stats are counted per token on the client), and the header costs
   * about 3 % of a client's calls/s (measured, see README).
   */
  sendLoadBalanceToken: false,
});

export interface LookasideOptions extends AuthTokenOptions {
  /**
   * Where the lookaside service listens, when the target has no authority
   * (`lookaside:///echo`): `host:port`, a comma-separated list of IP `host:port`s (any one will
   * do), or any grpc-js target (`dns:///lookaside.ns.svc:50051`). Default: $LOOKASIDE_ADDRESS.
   */
  lookasideAddress?: string;
  /**
   * Addresses to call when the lookaside cannot be reached at start or says the service has
   * no backends: a grpc-js target (`dns:///echo-headless:50051`, `ipv4:10.0.0.1:50051,10.0.0.2:50051`,
   * or `host:port`, read as DNS), or a list of IP `host:port`s. Default: none (calls fail).
   */
  fallback?: string | readonly string[];
  /** See CLIENT_DEFAULTS.fallbackTimeoutMs. */
  fallbackTimeoutMs?: number;
  /** The caller's topology zone, sent to the lookaside for zone-aware policies. Default: ''. */
  clientZone?: string;
  /** Reconnect backoff of the Watch stream. Default: CLIENT_DEFAULTS.backoff. */
  backoff?: BackoffOptions;
  /** Credentials for the connection to the lookaside. Default: insecure. */
  lookasideCredentials?: ChannelCredentials;
  /** Extra grpc-js options for the connection to the lookaside (e.g. keepalive). */
  lookasideChannelOptions?: ChannelOptions;
  /**
   * Send each call's backend its `load_balance_token` as `lb-token` metadata, for backends
   * that read it. Default: CLIENT_DEFAULTS.sendLoadBalanceToken (false).
   */
  sendLoadBalanceToken?: boolean;
}

/** What one channel uses, after the target, channel options, registered defaults and env. */
export interface ResolvedClientConfig {
  service: string;
  /** As the user wrote it, for messages. */
  lookasideAddress: string;
  /** grpc-js target for the lookaside connection. */
  lookasideTarget: string;
  fallback: experimental.GrpcUri | null;
  fallbackTimeoutMs: number;
  clientZone: string;
  backoff: Required<BackoffOptions>;
  lookasideCredentials: ChannelCredentials;
  lookasideChannelOptions: ChannelOptions;
  authToken: TokenSource;
  sendLoadBalanceToken: boolean;
}

export class ConfigError extends Error {}

const KNOWN_SCHEMES = /^(dns|ipv4|ipv6|unix|unix-abstract|vsock):/;

function splitList(list: string): string[] {
  return list.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

function hostOf(hostPort: string): string {
  const parsed = experimental.splitHostPort(hostPort);
  if (!parsed || parsed.port === undefined) {
    throw new ConfigError(`lookaside: "${hostPort}" is not host:port`);
  }
  return parsed.host;
}

/** A comma-separated list of IP host:ports as an ipv4:/ipv6: target. */
function ipListTarget(entries: readonly string[], what: string): string {
  const hosts = entries.map(hostOf);
  if (hosts.every((h) => isIPv4(h))) return `ipv4:${entries.join(',')}`;
  if (hosts.every((h) => isIPv6(h))) return `ipv6:${entries.join(',')}`;
  throw new ConfigError(
    `lookaside: ${what} "${entries.join(',')}" must be IP host:ports of one family; use a dns:/// target for names`,
  );
}

/** The grpc-js target to dial for a lookaside address as users write it. */
export function lookasideTarget(address: string): string {
  const trimmed = address.trim();
  if (trimmed.length === 0) throw new ConfigError('lookaside: empty lookaside address');
  if (KNOWN_SCHEMES.test(trimmed)) return trimmed;
  const entries = splitList(trimmed);
  if (entries.length > 1) return ipListTarget(entries, 'lookaside address');
  hostOf(trimmed);
  return `dns:///${trimmed}`;
}

/** Parses a grpc-js target string (scheme:[//authority/]path) as grpc-js does. */
export function parseTarget(target: string): experimental.GrpcUri {
  const m = /^(?:([A-Za-z0-9+.-]+):)?(?:\/\/([^/]*)\/)?(.+)$/.exec(target);
  if (!m) throw new ConfigError(`lookaside: cannot parse target "${target}"`);
  return { scheme: m[1], authority: m[2], path: m[3] };
}

/** The fallback option as a target the fallback resolver understands, or null for none. */
export function fallbackUri(fallback: string | readonly string[] | undefined): experimental.GrpcUri | null {
  if (fallback === undefined) return null;
  if (typeof fallback !== 'string') {
    const entries = fallback.map((s) => s.trim()).filter((s) => s.length > 0);
    return entries.length === 0 ? null : parseTarget(ipListTarget(entries, 'fallback list'));
  }
  const trimmed = fallback.trim();
  if (trimmed.length === 0) return null;
  if (trimmed.startsWith('lookaside:')) throw new ConfigError('lookaside: a fallback cannot itself be a lookaside: target');
  if (KNOWN_SCHEMES.test(trimmed)) return parseTarget(trimmed);
  return { scheme: 'dns', authority: undefined, path: trimmed };
}

function nonNegative(value: unknown, what: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new ConfigError(`lookaside: ${what} must be a number >= 0, got ${String(value)}`);
  return n;
}

function flag(value: unknown, what: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === true || value === 1) return true;
  if (value === false || value === 0) return false;
  throw new ConfigError(`lookaside: ${what} must be true, false, 1 or 0, got ${String(value)}`);
}

/** The service name of a lookaside: target: its path without leading slashes. */
export function serviceOf(target: experimental.GrpcUri): string {
  return target.path.replace(/^\/+/, '');
}

/**
 * Resolves one channel's configuration. The lookaside address comes from the target's
 * authority, then the `lookaside.address` channel option, then registerLookaside(), then
 * $LOOKASIDE_ADDRESS, in that order.
 */
export function resolveClientConfig(
  target: experimental.GrpcUri,
  channelOptions: ChannelOptions,
  defaults: LookasideOptions,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedClientConfig {
  const service = serviceOf(target);
  if (service.length === 0) throw new ConfigError('lookaside: the target names no service; write lookaside:///SERVICE');
  const candidates = [target.authority, channelOptions[CHANNEL_OPTION.address], defaults.lookasideAddress, env[LOOKASIDE_ADDRESS_ENV]];
  const address = candidates.find((a): a is string => typeof a === 'string' && a.trim().length > 0);
  if (address === undefined) {
    throw new ConfigError(
      `lookaside: no lookaside address for service "${service}": write lookaside://HOST:PORT/${service}, ` +
        `set the "${CHANNEL_OPTION.address}" channel option, registerLookaside({ lookasideAddress }) or $${LOOKASIDE_ADDRESS_ENV}`,
    );
  }
  const channelFallback = channelOptions[CHANNEL_OPTION.fallback];
  const fallback = typeof channelFallback === 'string' ? channelFallback : defaults.fallback;
  const timeout =
    nonNegative(channelOptions[CHANNEL_OPTION.fallbackTimeoutMs], CHANNEL_OPTION.fallbackTimeoutMs) ??
    nonNegative(defaults.fallbackTimeoutMs, 'fallbackTimeoutMs') ??
    CLIENT_DEFAULTS.fallbackTimeoutMs;
  const zone = channelOptions[CHANNEL_OPTION.clientZone];
  return {
    service,
    lookasideAddress: address,
    lookasideTarget: lookasideTarget(address),
    fallback: fallbackUri(fallback),
    fallbackTimeoutMs: timeout,
    clientZone: typeof zone === 'string' ? zone : (defaults.clientZone ?? ''),
    backoff: { ...CLIENT_DEFAULTS.backoff, ...defaults.backoff },
    lookasideCredentials: defaults.lookasideCredentials ?? credentials.createInsecure(),
    authToken: tokenSource(defaults, env),
    sendLoadBalanceToken:
      flag(channelOptions[CHANNEL_OPTION.sendLoadBalanceToken], CHANNEL_OPTION.sendLoadBalanceToken) ??
      flag(defaults.sendLoadBalanceToken, 'sendLoadBalanceToken') ??
      CLIENT_DEFAULTS.sendLoadBalanceToken,
    lookasideChannelOptions: {
      'grpc.keepalive_time_ms': CLIENT_DEFAULTS.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': CLIENT_DEFAULTS.keepaliveTimeoutMs,
      ...defaults.lookasideChannelOptions,
    },
  };
}
