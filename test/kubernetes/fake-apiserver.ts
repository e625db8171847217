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
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

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
  /** Watches answered with 410 (either form). */
  expired: number;
  /** Requests answered by failNext(). */
  failed: number;
}

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
  readonly requests: Requests = { lists: 0, watches: 0, expired: 0, failed: 0 };

  private server?: Server;
  private port = 0;
  private rv = 1000;
  private compactedRv = 0;
  private readonly store = new Map<string, Slice>();
  private readonly history: HistoryEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly sockets = new Set<Socket>();
  private failures: { kind: 'list' | 'watch' | 'any'; status: number; remaining: number }[] = [];

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
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
  failNext(kind: 'list' | 'watch' | 'any', status: number, count: number): void {
    this.failures.push({ kind, status, remaining: count });
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

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const m = url.pathname.match(/^\/apis\/discovery\.k8s\.io\/v1\/(?:namespaces\/([^/]+)\/)?endpointslices$/);
    if (req.method !== 'GET' || !m) {
      this.json(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
      return;
    }
    const namespace = m[1];
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const failure = this.failures.find((f) => f.remaining > 0 && (f.kind === 'any' || f.kind === (watch ? 'watch' : 'list')));
    if (failure) {
      failure.remaining--;
      this.requests.failed++;
      this.json(res, failure.status, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: failure.status, message: 'injected failure' });
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
