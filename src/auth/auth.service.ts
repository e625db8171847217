import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { status, type Metadata } from '@grpc/grpc-js';
import { LOOKASIDE_CONFIG, type LookasideConfig, type ReaderApi } from '../config/config.js';
import { FieldError } from '../common/grpc-errors.js';
import { MetricsService } from '../common/metrics.service.js';
import { KUBERNETES_CONFIG, KubernetesMembership } from '../kubernetes/kubernetes-membership.js';
import type { KubernetesConfig } from '../kubernetes/kubernetes.config.js';
import { TokenReviewer, TokenReviewUnavailableError, type ServiceAccountIdentity } from '../kubernetes/token-review.js';
import type { BackendIdentity } from '../store/types.js';
import { hashToken, matches, parseTokenFile, type TokenEntry, type TokenTable } from './token-file.js';

/** Where a credential was presented: the reporting API or one of the reading ones. */
export type AuthApi = 'report' | ReaderApi;

/** Who is calling, once authenticated. */
export interface Caller {
  /** Stored with what it registers: "token:NAME", "system:serviceaccount:NS:SA", "" when anonymous. */
  principal: string;
  /** Hash of the static token presented, looked up afresh on every check (so revocation bites). */
  tokenHash?: string;
  account?: ServiceAccountIdentity;
}

export const ANONYMOUS: Caller = Object.freeze({ principal: '' });

/** Longest credential read from metadata (a projected ServiceAccount token is about 1 KiB). */
const MAX_CREDENTIAL_BYTES = 16 * 1024;

/** An UNAUTHENTICATED / PERMISSION_DENIED / UNAVAILABLE refusal, with a short cause for the metric. */
export class AuthError extends FieldError {
  constructor(
    field: string,
    reason: string,
    code: status,
    readonly cause: string,
  ) {
    super(field, reason, code);
  }
}

const unauthenticated = (cause: string, reason: string) => new AuthError('authorization', reason, status.UNAUTHENTICATED, cause);
const denied = (field: string, cause: string, reason: string) => new AuthError(field, reason, status.PERMISSION_DENIED, cause);

/** The bearer token of the `authorization` values of a call (metadata or HTTP header), or undefined when it has none. */
export function bearerToken(values: readonly (string | Buffer)[]): string | undefined {
  if (values.length === 0) return undefined;
  if (values.length > 1) throw unauthenticated('malformed', 'send one authorization header, not several');
  const value = String(values[0]);
  if (Buffer.byteLength(value) > MAX_CREDENTIAL_BYTES) throw unauthenticated('malformed', `is over ${MAX_CREDENTIAL_BYTES} bytes`);
  const match = /^Bearer +(\S+)$/i.exec(value);
  if (!match) throw unauthenticated('malformed', 'must be "Bearer <token>"');
  return match[1];
}

/**
 * Authentication and authorization of every API (see README "Security"). Modes: off (anyone may
 * do anything), tokens (the token file decides) and kubernetes (projected ServiceAccount tokens,
 * verified with TokenReview, bound to the pod's own endpoint; static tokens from the file too).
 * Reporters always need a credential once auth is on; readers only for the APIs in
 * LOOKASIDE_AUTH_READERS. Every refusal is counted by API and cause.
 */
@Injectable()
export class AuthService implements OnModuleDestroy {
  private readonly log = new Logger('Auth');
  private table: TokenTable = { byHash: new Map() };
  private fileHash = '';
  /** The last problem logged, so a file that stays bad is reported once, not on every check. */
  private lastProblem = '';
  private readonly listeners = new Set<() => void>();
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(LOOKASIDE_CONFIG) private readonly config: LookasideConfig,
    private readonly metrics: MetricsService,
    private readonly cluster: KubernetesMembership,
    private readonly reviewer: TokenReviewer,
    @Inject(KUBERNETES_CONFIG) private readonly kubernetes: KubernetesConfig,
  ) {
    const { mode, tokenFile } = config.auth;
    if (mode === 'kubernetes' && !cluster.enabled()) {
      throw new Error('LOOKASIDE_AUTH_MODE=kubernetes needs Kubernetes membership (LOOKASIDE_K8S_SERVICES or LOOKASIDE_K8S_DISCOVERY_NAMESPACES, and credentials)');
    }
    if (mode === 'off') {
      this.log.warn('authentication is off (LOOKASIDE_AUTH_MODE=off): anyone who reaches the gRPC port may register backends');
      return;
    }
    if (tokenFile) {
      this.loadTokenFile(true);
      this.timer = setInterval(() => this.loadTokenFile(false), config.fileReloadIntervalMs);
      this.timer.unref();
    }
    const readers = [...config.auth.readers].join(', ') || 'none';
    this.log.log(`authentication ${mode}: reporters always, readers: ${readers}`);
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Called after every change of the token file, so open streams can be checked again. */
  onTokensChanged(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** True when `api` asks for a credential. */
  required(api: AuthApi): boolean {
    if (this.config.auth.mode === 'off') return false;
    return api === 'report' || this.config.auth.readers.has(api);
  }

  /** Who is calling; throws UNAUTHENTICATED (or UNAVAILABLE when Kubernetes cannot say now). */
  authenticate(metadata: Metadata, api: AuthApi): Promise<Caller> {
    return this.authenticateValues(() => metadata.get('authorization'), api);
  }

  /** The same for an HTTP request's `authorization` header (the admin port). */
  authenticateHeader(header: string | undefined, api: AuthApi): Promise<Caller> {
    return this.authenticateValues(() => (header === undefined ? [] : [header]), api);
  }

  /** True when `caller` may read every service (the whole dashboard, per-backend metrics). */
  readsAll(caller: Caller): boolean {
    if (caller === ANONYMOUS || caller.account) return true;
    const entry = this.table.byHash.get(caller.tokenHash!);
    return entry !== undefined && entry.read.some((p) => 'prefix' in p && p.prefix === '');
  }

  private async authenticateValues(values: () => readonly (string | Buffer)[], api: AuthApi): Promise<Caller> {
    if (!this.required(api)) return ANONYMOUS;
    return this.counted(api, async () => {
      const token = bearerToken(values());
      if (token === undefined) throw unauthenticated('missing', 'a bearer token is required (metadata "authorization: Bearer <token>")');
      const hash = hashToken(token);
      const entry = this.table.byHash.get(hash);
      if (entry) return { principal: `token:${entry.name}`, tokenHash: hash };
      if (this.config.auth.mode !== 'kubernetes') throw unauthenticated('unknown', 'unknown token');
      const account = await this.review(token);
      return { principal: account.username, account };
    });
  }

  /** May `caller` register `identity`? Throws PERMISSION_DENIED naming the field and why. */
  authorizeRegistration(caller: Caller, identity: BackendIdentity): void {
    if (caller === ANONYMOUS) return;
    this.countedSync('report', () => {
      if (caller.account) return this.authorizePod(caller.account, identity);
      const entry = this.entryOf(caller);
      if (!matches(entry.report, identity.service)) {
        throw denied('registration.service', 'service', `token "${entry.name}" may not report for "${identity.service}"`);
      }
      if (entry.hosts && !entry.hosts.check(identity.host, identity.host.includes(':') ? 'ipv6' : 'ipv4')) {
        throw denied('registration.host', 'host', `token "${entry.name}" may not register ${identity.host}`);
      }
    });
  }

  /** May `caller` read `service` through `api`? Throws PERMISSION_DENIED. */
  authorizeRead(caller: Caller, api: ReaderApi, field: string, service: string): void {
    if (caller === ANONYMOUS) return;
    this.countedSync(api, () => {
      if (caller.account) return; // any ServiceAccount of the cluster may read
      const entry = this.entryOf(caller);
      if (!matches(entry.read, service)) throw denied(field, 'service', `token "${entry.name}" may not read "${service}"`);
    });
  }

  /** Throws UNAUTHENTICATED if `caller`'s token was revoked since it authenticated. */
  checkNotRevoked(caller: Caller, api: AuthApi): void {
    if (caller === ANONYMOUS || caller.account) return;
    this.countedSync(api, () => this.entryOf(caller));
  }

  /** The services of `names` that `caller` may read. */
  readable(caller: Caller, names: string[]): string[] {
    if (caller === ANONYMOUS || caller.account) return names;
    const entry = this.table.byHash.get(caller.tokenHash!);
    return entry ? names.filter((name) => matches(entry.read, name)) : [];
  }

  /** Counts a refusal decided elsewhere (a registration owned by another principal). */
  countRejection(api: AuthApi, cause: string): void {
    this.metrics.authRejections.inc({ api, reason: cause });
  }

  /**
   * A projected ServiceAccount token may register only its own pod's endpoint, and only for a
   * Service whose label names the pod's ServiceAccount (LOOKASIDE_K8S_SERVICE_ACCOUNT_LABEL).
   */
  private authorizePod(account: ServiceAccountIdentity, identity: BackendIdentity): void {
    const who = `ServiceAccount ${account.namespace}/${account.serviceAccount}`;
    if (!account.podName) throw denied('authorization', 'unbound', `the ${who} token is not bound to a pod: use a projected ServiceAccount token`);
    if (!this.cluster.watches(identity.service)) {
      throw denied('registration.service', 'service', `"${identity.service}" is not backed by a watched Kubernetes Service`);
    }
    const endpoints = this.cluster.endpoints(identity.service);
    if (!endpoints) {
      throw new AuthError('registration.service', `the Kubernetes endpoints of "${identity.service}" are not known yet; retry shortly`, status.UNAVAILABLE, 'unavailable');
    }
    const endpoint = endpoints.find((e) => e.host === identity.host && e.port === identity.port);
    if (!endpoint || endpoint.podName !== account.podName || endpoint.namespace !== account.namespace) {
      throw denied('registration.host', 'address', `${identity.id} is not an endpoint of pod ${account.namespace}/${account.podName} in the Service behind "${identity.service}"`);
    }
    if (endpoint.serviceAccount !== account.serviceAccount) {
      const label = this.kubernetes.serviceAccountLabel;
      const named = endpoint.serviceAccount ? `names "${endpoint.serviceAccount}"` : 'is not set';
      throw denied('registration.service', 'account', `${who} may not report for "${identity.service}": the Service's label ${label} ${named}`);
    }
  }

  private async review(token: string): Promise<ServiceAccountIdentity> {
    const before = this.reviewer.stats.reviews;
    try {
      const result = await this.reviewer.review(token);
      if (!result.authenticated) throw unauthenticated('rejected', `the Kubernetes API rejected the token: ${result.reason}`);
      return result.identity;
    } catch (error) {
      if (error instanceof TokenReviewUnavailableError) {
        throw new AuthError('authorization', `cannot verify the token with the Kubernetes API now (${(error as Error).message}); retry`, status.UNAVAILABLE, 'unavailable');
      }
      throw error;
    } finally {
      this.metrics.tokenReviews.inc(this.reviewer.stats.reviews - before);
    }
  }

  private entryOf(caller: Caller): TokenEntry {
    const entry = this.table.byHash.get(caller.tokenHash!);
    if (!entry) throw unauthenticated('revoked', 'the token was revoked');
    return entry;
  }

  private async counted<T>(api: AuthApi, check: () => Promise<T>): Promise<T> {
    try {
      return await check();
    } catch (error) {
      if (error instanceof AuthError) this.countRejection(api, error.cause);
      throw error;
    }
  }

  private countedSync(api: AuthApi, check: () => void): void {
    try {
      check();
    } catch (error) {
      if (error instanceof AuthError) this.countRejection(api, error.cause);
      throw error;
    }
  }

  /** Reads the token file if it changed; a bad new version is refused and the last good one kept. */
  private loadTokenFile(first: boolean): void {
    const path = this.config.auth.tokenFile!;
    try {
      const size = statSync(path).size;
      if (size > this.config.limits.maxTokenFileBytes) throw new Error(`is ${size} bytes, over ${this.config.limits.maxTokenFileBytes}`);
      const text = readFileSync(path, 'utf8');
      const hash = createHash('sha256').update(text).digest('hex');
      if (hash === this.fileHash) {
        this.lastProblem = '';
        return;
      }
      this.table = parseTokenFile(text);
      this.fileHash = hash;
      this.lastProblem = '';
      if (!first) {
        this.metrics.fileReloads.inc({ file: 'tokens', result: 'ok' });
        this.log.log(`token file reloaded: ${this.table.byHash.size} tokens`);
        for (const listener of this.listeners) listener();
      }
    } catch (error) {
      const message = `LOOKASIDE_AUTH_TOKEN_FILE ${path}: ${(error as Error).message}`;
      if (first) throw new Error(message);
      if (message === this.lastProblem) return;
      this.lastProblem = message;
      this.metrics.fileReloads.inc({ file: 'tokens', result: 'error' });
      this.log.error(`${message}; keeping the previous tokens`);
    }
  }
}
