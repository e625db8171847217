/**
 * Verifies reporters' projected ServiceAccount tokens with the TokenReview API
 * (authentication.k8s.io/v1), so lookaside needs no signing keys and honours revocation (a
 * deleted pod or ServiceAccount invalidates its tokens at once).
 *
 * - spec.audiences is the configured list; an answer whose status.audiences shares none of them
 *   is a rejection (an audience-unaware authenticator answers with none: the token is then only
 *   good for the apiserver itself).
 * - Answers are cached by sha256(token): an acceptance until min(cacheTtlMs, the token's `exp`),
 *   a rejection for negativeCacheTtlMs; at most cacheSize entries, the oldest evicted first.
 *   Concurrent reviews of one token share one request.
 * - A review that cannot be done now (no credentials, unreachable, timeout, 5xx, 401/403) throws
 *   TokenReviewUnavailableError and is not cached: the caller should retry, not treat the token as
 *   bad.
 * Tokens are never logged nor kept: only their hashes are.
 */
import { createHash } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import {
  ApiException,
  AuthenticationV1Api,
  KubeConfig,
  Observable,
  type ConfigurationOptions,
  type RequestContext,
  type ResponseContext,
  type V1TokenReview,
} from '@kubernetes/client-node';
import { describe, KUBE_CONFIG, KUBERNETES_CONFIG } from './kubernetes-membership.js';
import type { KubernetesConfig, TokenReviewConfig } from './kubernetes.config.js';

/** Who a ServiceAccount token belongs to, as the apiserver says. */
export interface ServiceAccountIdentity {
  /** `system:serviceaccount:NAMESPACE:NAME`. */
  username: string;
  namespace: string;
  serviceAccount: string;
  /** The pod the token is bound to; '' when it is not pod-bound (a legacy or TokenRequest token without a pod). */
  podName: string;
  podUid: string;
}

export type TokenReviewResult =
  | { authenticated: true; identity: ServiceAccountIdentity }
  | { authenticated: false; reason: string };

/** The token could not be reviewed now (not: the token is bad). Retry later. */
export class TokenReviewUnavailableError extends Error {
  override name = 'TokenReviewUnavailableError';
}

const SERVICE_ACCOUNT_USER = /^system:serviceaccount:([^:]+):([^:]+)$/;
const POD_NAME_KEY = 'authentication.kubernetes.io/pod-name';
const POD_UID_KEY = 'authentication.kubernetes.io/pod-uid';

interface CacheEntry {
  result: TokenReviewResult;
  expiresAt: number;
}

/** The `exp` claim (seconds) of a JWT, read without verifying it; undefined when there is none. */
function jwtExpiry(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    const exp = (payload as { exp?: unknown } | null)?.exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp : undefined;
  } catch {
    return undefined;
  }
}

/** Call-time options that tie one request to `signal` (client-node has no per-request timeout). */
function withSignal(signal: AbortSignal): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (ctx: RequestContext) => {
          ctx.setSignal(signal);
          return new Observable(Promise.resolve(ctx));
        },
        post: (rsp: ResponseContext) => new Observable(Promise.resolve(rsp)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

/** ": <message>" of the Status an error response carries (client-node keeps it as text), or ''. */
function statusDetail(body: unknown): string {
  let status = body;
  if (typeof body === 'string') {
    try {
      status = JSON.parse(body);
    } catch {
      return '';
    }
  }
  const message = (status as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' ? `: ${message.split('\n')[0].slice(0, 200)}` : '';
}

function unavailable(err: unknown): TokenReviewUnavailableError {
  if (err instanceof TokenReviewUnavailableError) return err;
  if (err instanceof ApiException) {
    const code = err.code;
    const detail = statusDetail(err.body);
    if (code === 403) {
      return new TokenReviewUnavailableError(
        `the Kubernetes API refused to create a TokenReview (HTTP 403${detail}); RBAC is missing: grant "create" on ` +
          'tokenreviews (authentication.k8s.io) to lookaside\'s ServiceAccount with a ClusterRoleBinding',
      );
    }
    if (code === 401) return new TokenReviewUnavailableError(`the Kubernetes API rejected lookaside's own credentials (HTTP 401${detail})`);
    return new TokenReviewUnavailableError(`the Kubernetes API answered the TokenReview with HTTP ${code}${detail}`);
  }
  return new TokenReviewUnavailableError(`the Kubernetes API is unreachable (${describe(err)})`);
}

@Injectable()
export class TokenReviewer {
  /** reviews: TokenReview requests sent; cacheHits: reviews answered from the cache. */
  readonly stats = { reviews: 0, cacheHits: 0 };
  private readonly settings: TokenReviewConfig;
  /** Insertion-ordered, so the first key is the oldest entry. */
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<TokenReviewResult>>();
  private api?: AuthenticationV1Api;

  constructor(
    @Inject(KUBERNETES_CONFIG) config: KubernetesConfig,
    @Optional() @Inject(KUBE_CONFIG) private readonly kubeConfig?: KubeConfig | null,
  ) {
    this.settings = config.tokenReview;
  }

  /** Resolves with the token's identity or why it is refused; throws TokenReviewUnavailableError when Kubernetes cannot say now. */
  review(token: string): Promise<TokenReviewResult> {
    if (token === '') return Promise.resolve({ authenticated: false, reason: 'empty token' });
    const key = createHash('sha256').update(token).digest('hex');
    const cached = this.cache.get(key);
    if (cached) {
      if (cached.expiresAt > Date.now()) {
        this.stats.cacheHits++;
        return Promise.resolve(cached.result);
      }
      this.cache.delete(key);
    }
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.ask(key, token).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  private async ask(key: string, token: string): Promise<TokenReviewResult> {
    const answer = await this.send(token);
    const result = this.interpret(answer);
    const now = Date.now();
    let ttl = this.settings.negativeCacheTtlMs;
    if (result.authenticated) {
      const exp = jwtExpiry(token);
      ttl = exp === undefined ? this.settings.cacheTtlMs : Math.min(this.settings.cacheTtlMs, exp * 1000 - now);
    }
    if (ttl > 0) this.remember(key, { result, expiresAt: now + ttl });
    return result;
  }

  private remember(key: string, entry: CacheEntry): void {
    this.cache.delete(key);
    this.cache.set(key, entry);
    while (this.cache.size > this.settings.cacheSize) {
      this.cache.delete(this.cache.keys().next().value!);
    }
  }

  private async send(token: string): Promise<V1TokenReview> {
    if (!this.kubeConfig) throw new TokenReviewUnavailableError('no Kubernetes credentials');
    try {
      this.api ??= this.kubeConfig.makeApiClient(AuthenticationV1Api);
    } catch (err) {
      throw new TokenReviewUnavailableError(`unusable Kubernetes credentials (${describe(err)})`);
    }
    const timeoutMs = this.settings.timeoutMs;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    // Raced as well as aborted: credential plugins run before the request and may hang too.
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new TokenReviewUnavailableError(`the Kubernetes API did not answer the TokenReview within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    this.stats.reviews++;
    try {
      const body: V1TokenReview = {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token, audiences: this.settings.audiences },
      };
      return await Promise.race([this.api.createTokenReview({ body }, withSignal(controller.signal)), timeout]);
    } catch (err) {
      throw unavailable(err);
    } finally {
      clearTimeout(timer);
    }
  }

  private interpret(review: V1TokenReview): TokenReviewResult {
    const status = review.status;
    if (!status?.authenticated) {
      return { authenticated: false, reason: status?.error?.trim() || 'the token is not valid' };
    }
    const returned = status.audiences ?? [];
    if (!returned.some((a) => this.settings.audiences.includes(a))) {
      return {
        authenticated: false,
        reason: `the token is not meant for ${this.settings.audiences.join(', ')} (audiences returned: ${returned.join(', ') || 'none'})`,
      };
    }
    const username = status.user?.username ?? '';
    const match = SERVICE_ACCOUNT_USER.exec(username);
    if (!match) return { authenticated: false, reason: `"${username}" is not a ServiceAccount` };
    const extra = status.user?.extra ?? {};
    return {
      authenticated: true,
      identity: {
        username,
        namespace: match[1],
        serviceAccount: match[2],
        podName: extra[POD_NAME_KEY]?.[0] ?? '',
        podUid: extra[POD_UID_KEY]?.[0] ?? '',
      },
    };
  }
}
