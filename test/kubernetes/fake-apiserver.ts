/**
 * A tiny stand-in for kube-apiserver (loopback only) that serves discovery.k8s.io/v1
 * EndpointSlices with the real list/watch protocol:
 *
 * - GET .../endpointslices[?labelSelector=...]: a list with metadata.resourceVersion;
 * - GET ...?watch=true&resourceVersion=R: headers flushed at once, then one JSON object per line
 *   ({"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object": ...}) for every change after R,
 *   replayed from history first, then live; label-selector transitions become ADDED/DELETED as
 *   in the real apiserver; BOOKMARKs only when allowWatchBookmarks=true;
 * - R older than the compacted history: 410 Gone, either as an ERROR event with a Status
 *   (code 410, reason Expired) on a 200 stream, or as an HTTP 410 Status response;
 * - kill() closes the listener and destroys every socket (a crashed apiserver); restart() listens
 *   again on the same port with the same store (etcd survives an apiserver restart).
 *
 * And authentication.k8s.io/v1 TokenReviews of the tokens it issues (issueToken: JWT-shaped
 * projected ServiceAccount tokens; issueUserToken: a plain user's): POST .../tokenreviews answers
 * 201 with status.authenticated, status.user (username, uid, groups, extra with the pod-name and
 * pod-uid keys of a pod-bound token) and status.audiences (the intersection of spec.audiences, or
 * the apiserver's own audience when none are asked, with the token's); an unknown, revoked,
 * expired or wrong-audience token gets authenticated false and status.error, as the real one.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { writeFileSync } from 'node:fs';

export interface SliceEndpoint {
  addresses: string[];
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  nodeName?: string;
  zone?: string;
  targetRef?: { kind: string; name: string; namespace?: string };
}

export interface Slice {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    resourceVersion?: string;
    uid?: string;
  };
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints: SliceEndpoint[];
  ports?: { name?: string; port?: number; protocol?: string }[];
}

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface HistoryEvent {
  rv: number;
  type: EventType;
  object: Slice;
  prev?: Slice;
}

interface Watcher {
  res: ServerResponse;
  namespace?: string;
  selector: (labels: Record<string, string> | undefined) => boolean;
  bookmarks: boolean;
}

export interface Requests {
  lists: number;
  watches: number;
  /** TokenReviews answered (not counting failNext() ones). */
  tokenReviews: number;
  /** Watches answered with 410 (either form). */
  expired: number;
  /** Requests answered by failNext(). */
  failed: number;
}

export type RequestKind = 'list' | 'watch' | 'tokenreview' | 'any';

/** What a TokenReview says about a token this server issued. */
interface IssuedToken {
  username: string;
  uid: string;
  groups: string[];
  extra: Record<string, string[]>;
  audiences: string[];
  /** Seconds since the epoch. */
  exp?: number;
  revoked: boolean;
}

export interface ServiceAccountTokenSpec {
  namespace: string;
  serviceAccount: string;
  /** Binds the token to this pod (a projected token); unset: not pod-bound. */
  podName?: string;
  podUid?: string;
  /** Default ['lookaside']. */
  audiences?: string[];
  /** Default 3600. */
  expiresInS?: number;
}

/** The apiserver's own audience: what a TokenReview without spec.audiences checks against. */
export const API_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';

const b64url = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Parses the subset of label selectors informers use: k=v, k==v, k!=v, k, !k (comma = AND). */
export function parseSelector(raw: string | null): (labels: Record<string, string> | undefined) => boolean {
  if (!raw) return () => true;
  const terms = raw.split(',').map((t) => t.trim()).filter(Boolean).map((term) => {
    let m: RegExpMatchArray | null;
    if ((m = term.match(/^([^!=]+)!=(.*)$/))) {
      const [, k, v] = m;
      return (l: Record<string, string>) => l[k] !== v;
    }
    if ((m = term.match(/^([^!=]+)==?(.*)$/))) {
      const [, k, v] = m;
      return (l: Record<string, string>) => l[k] === v;
    }
    if (term.startsWith('!')) {
      const k = term.slice(1);
      return (l: Record<string, string>) => !(k in l);
    }
    return (l: Record<string, string>) => term in l;
  });
  return (labels) => terms.every((t) => t(labels ?? {}));
}

export class FakeApiServer {
  /** How a watch from a compacted resourceVersion is refused. */
  expiredMode: 'event' | 'status' = 'event';
  /** When false, changes are stored but not sent to open watches (events "lost in transit"). */
  deliver = true;
  /** Delay before answering a TokenReview (to exercise client timeouts). */
  tokenReviewDelayMs = 0;
  /**
   * When false, TokenReviews ignore audiences and return none, as an audience-unaware
   * authenticator (e.g. an old webhook) does: the token is then good for the apiserver only.
   */
  audienceAware = true;
  readonly requests: Requests = { lists: 0, watches: 0, tokenReviews: 0, expired: 0, failed: 0 };

  private server?: Server;
  private port = 0;
  private rv = 1000;
  private compactedRv = 0;
  private readonly store = new Map<string, Slice>();
  private readonly history: HistoryEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly sockets = new Set<Socket>();
  private failures: { kind: RequestKind; status: number; remaining: number }[] = [];
  private readonly tokens = new Map<string, IssuedToken>();
  private tokenSerial = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Writes a kubeconfig at `path` that points client-node at this server (namespace demo). */
  writeKubeconfig(path: string): void {
    writeFileSync(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: fake, cluster: {server: "${this.url}", insecure-skip-tls-verify: true}}]`,
        'users: [{name: fake, user: {token: fake}}]',
        'contexts: [{name: fake, context: {cluster: fake, user: fake, namespace: demo}}]',
        'current-context: fake',
        '',
      ].join('\n'),
    );
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  get openWatches(): number {
    return this.watchers.size;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** A crash: the listener closes and every connection is reset. */
  async kill(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.watchers.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens again on the same port with the same store. */
  async restart(): Promise<void> {
    await this.start();
  }

  async close(): Promise<void> {
    await this.kill();
  }

  /** Creates or replaces a slice; returns the stored copy (with its new resourceVersion). */
  apply(slice: Slice): Slice {
    const key = `${slice.metadata.namespace}/${slice.metadata.name}`;
    const prev = this.store.get(key);
    const obj = clone(slice);
    obj.apiVersion = 'discovery.k8s.io/v1';
    obj.kind = 'EndpointSlice';
    obj.metadata.uid = prev?.metadata.uid ?? `uid-${key}`;
    obj.metadata.resourceVersion = String(++this.rv);
    this.store.set(key, obj);
    this.record({ rv: this.rv, type: prev ? 'MODIFIED' : 'ADDED', object: obj, prev });
    return clone(obj);
  }

  delete(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const prev = this.store.get(key);
    if (!prev) throw new Error(`no slice ${key}`);
    this.store.delete(key);
    const obj = clone(prev);
    obj.metadata.resourceVersion = String(++this.rv);
    this.record({ rv: this.rv, type: 'DELETED', object: obj, prev });
  }

  get(namespace: string, name: string): Slice | undefined {
    const s = this.store.get(`${namespace}/${name}`);
    return s && clone(s);
  }

  /** Forgets the history up to now: a watch from an older resourceVersion gets 410 Gone. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history.length = 0;
  }

  /** Sends a BOOKMARK at a fresh resourceVersion to every watch that asked for bookmarks. */
  bookmark(): string {
    const rv = String(++this.rv);
    for (const w of this.watchers) {
      if (!w.bookmarks) continue;
      this.send(w, { type: 'BOOKMARK', object: { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', metadata: { resourceVersion: rv } } });
    }
    return rv;
  }

  /** Ends every open watch cleanly (as the apiserver does at its watch timeout). */
  dropWatches(): void {
    for (const w of [...this.watchers]) {
      this.watchers.delete(w);
      w.res.end();
    }
  }

  /** Sends ERROR 410 (Expired) on every open watch, then ends it. */
  expireWatches(): void {
    for (const w of [...this.watchers]) {
      this.watchers.delete(w);
      this.send(w, { type: 'ERROR', object: this.goneStatus('0') });
      w.res.end();
    }
  }

  /** The next `count` requests of `kind` are answered with `status`. */
  failNext(kind: RequestKind, status: number, count: number): void {
    this.failures.push({ kind, status, remaining: count });
  }

  /** A projected ServiceAccount token, shaped as the kubelet's (a JWT with the kubernetes.io claims; the signature is random). */
  issueToken(spec: ServiceAccountTokenSpec): string {
    const n = ++this.tokenSerial;
    const now = Math.floor(Date.now() / 1000);
    const exp = Math.ceil(Date.now() / 1000) + (spec.expiresInS ?? 3600);
    const audiences = spec.audiences ?? ['lookaside'];
    const username = `system:serviceaccount:${spec.namespace}:${spec.serviceAccount}`;
    const saUid = `uid-sa-${spec.namespace}-${spec.serviceAccount}`;
    const jti = `jti-${n}`;
    const pod = spec.podName === undefined ? undefined : { name: spec.podName, uid: spec.podUid ?? `uid-pod-${spec.podName}` };
    const payload = {
      aud: audiences,
      exp,
      iat: now,
      nbf: now,
      iss: API_AUDIENCE,
      jti,
      sub: username,
      'kubernetes.io': {
        namespace: spec.namespace,
        serviceaccount: { name: spec.serviceAccount, uid: saUid },
        ...(pod ? { pod } : {}),
      },
    };
    const token = `${b64url({ alg: 'RS256', kid: 'fake-key' })}.${b64url(payload)}.${randomBytes(64).toString('base64url')}`;
    const extra: Record<string, string[]> = { 'authentication.kubernetes.io/credential-id': [`JTI=${jti}`] };
    if (pod) {
      extra['authentication.kubernetes.io/pod-name'] = [pod.name];
      extra['authentication.kubernetes.io/pod-uid'] = [pod.uid];
    }
    this.tokens.set(token, {
      username,
      uid: saUid,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${spec.namespace}`, 'system:authenticated'],
      extra,
      audiences,
      exp,
      revoked: false,
    });
    return token;
  }

  /** An opaque token of a plain user (a static token or an OIDC user: not a ServiceAccount). */
  issueUserToken(spec: { username: string; groups?: string[]; audiences?: string[] }): string {
    const token = randomBytes(24).toString('base64url');
    this.tokens.set(token, {
      username: spec.username,
      uid: `uid-user-${spec.username}`,
      groups: [...(spec.groups ?? []), 'system:authenticated'],
      extra: {},
      audiences: spec.audiences ?? ['lookaside'],
      revoked: false,
    });
    return token;
  }

  /** Invalidates a token (its pod or ServiceAccount was deleted). */
  revokeToken(token: string): void {
    const issued = this.tokens.get(token);
    if (!issued) throw new Error('not a token of this server');
    issued.revoked = true;
  }

  // ---------------------------------------------------------------------------------------------

  private record(ev: HistoryEvent): void {
    this.history.push(ev);
    if (!this.deliver) return;
    for (const w of this.watchers) this.deliverTo(w, ev);
  }

  private deliverTo(w: Watcher, ev: HistoryEvent): void {
    const ns = ev.object.metadata.namespace;
    if (w.namespace !== undefined && w.namespace !== ns) return;
    const now = ev.type !== 'DELETED' && w.selector(ev.object.metadata.labels);
    const before = ev.prev !== undefined && w.selector(ev.prev.metadata.labels);
    let type: EventType | undefined;
    if (ev.type === 'DELETED') type = before ? 'DELETED' : undefined;
    else if (now && before) type = 'MODIFIED';
    else if (now) type = 'ADDED';
    else if (before) type = 'DELETED';
    if (type) this.send(w, { type, object: ev.object });
  }

  private send(w: Watcher, event: unknown): void {
    if (!w.res.writableEnded && !w.res.destroyed) w.res.write(`${JSON.stringify(event)}\n`);
  }

  private goneStatus(rv: string): unknown {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `too old resource version: ${rv} (${this.compactedRv})`,
      reason: 'Expired',
      code: 410,
    };
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private takeFailure(kind: Exclude<RequestKind, 'any'>): { status: number } | undefined {
    const failure = this.failures.find((f) => f.remaining > 0 && (f.kind === 'any' || f.kind === kind));
    if (!failure) return undefined;
    failure.remaining--;
    this.requests.failed++;
    return failure;
  }

  private failWith(res: ServerResponse, status: number): void {
    this.json(res, status, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: status, message: 'injected failure' });
  }

  private handleTokenReview(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const failure = this.takeFailure('tokenreview');
      if (failure) {
        this.failWith(res, failure.status);
        return;
      }
      let review: { spec?: { token?: unknown; audiences?: unknown } };
      try {
        review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        this.json(res, 400, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'BadRequest', code: 400, message: 'invalid JSON' });
        return;
      }
      const token = review.spec?.token;
      if (typeof token !== 'string' || token === '') {
        const message = 'token is required for TokenReview in authentication';
        this.json(res, 400, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'BadRequest', code: 400, message });
        return;
      }
      this.requests.tokenReviews++;
      const asked = Array.isArray(review.spec?.audiences) ? (review.spec.audiences as string[]) : [];
      const body = {
        kind: 'TokenReview',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { creationTimestamp: null },
        spec: review.spec,
        status: this.reviewStatus(token, asked.length > 0 ? asked : [API_AUDIENCE]),
      };
      const answer = () => {
        if (!res.destroyed) this.json(res, 201, body);
      };
      if (this.tokenReviewDelayMs > 0) setTimeout(answer, this.tokenReviewDelayMs);
      else answer();
    });
  }

  private reviewStatus(token: string, audiences: string[]): unknown {
    const issued = this.tokens.get(token);
    const refuse = (why: string) => ({ user: {}, error: `[invalid bearer token, ${why}]` });
    if (!issued) return refuse('square/go-jose: error in cryptographic primitive');
    if (issued.exp !== undefined && issued.exp * 1000 <= Date.now()) return refuse('service account token has expired');
    if (issued.revoked) return refuse('service account token has been invalidated');
    const user = { username: issued.username, uid: issued.uid, groups: issued.groups, ...(Object.keys(issued.extra).length ? { extra: issued.extra } : {}) };
    if (!this.audienceAware) return { authenticated: true, user };
    const common = audiences.filter((a) => issued.audiences.includes(a));
    if (common.length === 0) {
      return refuse(`token audiences ${JSON.stringify(issued.audiences)} is invalid for the target audiences ${JSON.stringify(audiences)}`);
    }
    return { authenticated: true, user, audiences: common };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname === '/apis/authentication.k8s.io/v1/tokenreviews' && req.method === 'POST') {
      this.handleTokenReview(req, res);
      return;
    }
    const m = url.pathname.match(/^\/apis\/discovery\.k8s\.io\/v1\/(?:namespaces\/([^/]+)\/)?endpointslices$/);
    if (req.method !== 'GET' || !m) {
      this.json(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
      return;
    }
    const namespace = m[1];
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const failure = this.takeFailure(watch ? 'watch' : 'list');
    if (failure) {
      this.failWith(res, failure.status);
      return;
    }
    const selector = parseSelector(url.searchParams.get('labelSelector'));
    const matches = (s: Slice) => (namespace === undefined || s.metadata.namespace === namespace) && selector(s.metadata.labels);

    if (!watch) {
      this.requests.lists++;
      const items = [...this.store.values()]
        .filter(matches)
        .sort((a, b) => (a.metadata.namespace + a.metadata.name < b.metadata.namespace + b.metadata.name ? -1 : 1))
        .map((s) => {
          const { apiVersion: _a, kind: _k, ...rest } = s;
          return rest;
        });
      this.json(res, 200, {
        kind: 'EndpointSliceList',
        apiVersion: 'discovery.k8s.io/v1',
        metadata: { resourceVersion: String(this.rv) },
        items,
      });
      return;
    }

    this.requests.watches++;
    const rvParam = url.searchParams.get('resourceVersion') ?? '';
    const from = rvParam === '' || rvParam === '0' ? undefined : Number(rvParam);
    if (from !== undefined && (!Number.isFinite(from) || from < this.compactedRv)) {
      this.requests.expired++;
      if (this.expiredMode === 'status') {
        this.json(res, 410, this.goneStatus(rvParam));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.flushHeaders();
      res.write(`${JSON.stringify({ type: 'ERROR', object: this.goneStatus(rvParam) })}\n`);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const w: Watcher = {
      res,
      namespace,
      selector,
      bookmarks: url.searchParams.get('allowWatchBookmarks') === 'true',
    };
    if (from === undefined) {
      for (const s of this.store.values()) if (matches(s)) this.send(w, { type: 'ADDED', object: s });
    } else {
      for (const ev of this.history) if (ev.rv > from) this.deliverTo(w, ev);
    }
    this.watchers.add(w);
    const forget = () => this.watchers.delete(w);
    req.on('close', forget);
    res.on('close', forget);
  }
}
