/**
 * Membership from Kubernetes: watches discovery.k8s.io/v1 EndpointSlices with the
 * @kubernetes/client-node informer and keeps, per lookaside service, the merged view of ALL the
 * slices of the backing Service(s).
 *
 * Watch lifecycle (the informer's own behaviour, relied upon here):
 * - start = list (resourceVersion R) then watch from R; every event moves R forward, BOOKMARKs too;
 * - a watch closed cleanly (server timeout, dropped connection) is re-opened from R: nothing is
 *   missed and nothing is replayed twice (an object at the same resourceVersion fires nothing);
 * - 410 Gone (HTTP status or an ERROR event with code 410) clears R: the next start relists, and
 *   the relist diff deletes the slices that vanished meanwhile;
 * - any other error (connection refused or reset, 5xx, 403) stops the informer: this class restarts
 *   it after an exponential backoff with jitter, from R, so an apiserver restart loses nothing.
 * The merged view is recomputed once per event-loop turn after changes (a relist that touches many
 * slices is seen as one change) and listeners hear only about services whose list really changed.
 * While disconnected the last view is kept.
 */
import { Inject, Injectable, Logger, Optional, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  DiscoveryV1Api,
  KubeConfig,
  ListWatch,
  Watch,
  type V1EndpointSlice,
  type V1EndpointSliceList,
} from '@kubernetes/client-node';
import { mergeSlices, sameEndpoints, unionEndpoints, type ClusterEndpoint, type PortSelector } from './endpoint-slices.js';
import type { KubernetesConfig, ServiceWatchConfig } from './kubernetes.config.js';

/** DI token of the {@link KubernetesConfig}. */
export const KUBERNETES_CONFIG = Symbol('KUBERNETES_CONFIG');
/**
 * DI token of the KubeConfig shared by the watches and TokenReview: KubernetesModule loads it per
 * config (null without credentials); tests and embedding apps may provide a ready one.
 */
export const KUBE_CONFIG = Symbol('KUBE_CONFIG');

/** The label Kubernetes puts on every EndpointSlice of a Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

type SliceInformer = ListWatch<V1EndpointSlice>;

interface Source {
  /** For logs: `echo (demo/echo)` or `discovery (demo)`. */
  label: string;
  kind: 'explicit' | 'discovery';
  explicit?: ServiceWatchConfig;
  informer: SliceInformer;
  watch: ClosableWatch;
  /** Set by the first completed list; the view of its services is undefined before. */
  synced: boolean;
  /** A list has completed and its items are being applied by the informer. */
  listed: boolean;
  /** Something changed since the last recompute. */
  dirty: boolean;
  failures: number;
  restartTimer?: NodeJS.Timeout;
  lastError?: string;
}

export interface SourceStatus {
  label: string;
  synced: boolean;
  failures: number;
  lastError?: string;
  resourceVersion: string;
}

/**
 * A Watch that asks the apiserver for BOOKMARK events (so the resourceVersion stays fresh) and
 * that can be closed for good: ListWatch.stop() only aborts a watch whose response has already
 * arrived, so a watch still connecting (or started after a list that was in flight) would
 * otherwise outlive stop().
 */
class ClosableWatch extends Watch {
  private closed = false;
  private readonly active = new Set<AbortController>();

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: any, watchObj?: any) => void,
    done: (err: any) => void,
  ): Promise<AbortController> {
    let controller: AbortController | undefined;
    let finished = false;
    const finish = (err: unknown): void => {
      if (finished) return;
      finished = true;
      if (controller) this.active.delete(controller);
      done(err);
    };
    try {
      controller = await super.watch(path, { ...queryParams, allowWatchBookmarks: true }, callback, finish);
    } catch (err) {
      // Authentication can throw before the request starts (an exec plugin, an unreadable token
      // file); the informer does not catch it, so report it as a failed watch instead of an
      // unhandled rejection.
      controller = new AbortController();
      controller.abort();
      finish(err);
      return controller;
    }
    if (this.closed) controller.abort();
    else if (!finished) this.active.add(controller);
    return controller;
  }

  close(): void {
    this.closed = true;
    for (const c of this.active) c.abort();
    this.active.clear();
  }
}

/** KUBECONFIG or the in-cluster service account, as `config.credentials` says. */
export function loadKubeConfig(config: KubernetesConfig): KubeConfig {
  const kc = new KubeConfig();
  if (config.credentials === 'kubeconfig') kc.loadFromDefault();
  else kc.loadFromCluster();
  return kc;
}

/** A one-line description of a client-node or network error, for logs and status. */
export function describe(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { statusCode?: number; code?: number | string; message?: string; cause?: { code?: string; message?: string } };
    const status = e.statusCode ?? (typeof e.code === 'number' ? e.code : undefined);
    // fetch says only "fetch failed"; the reason (ECONNREFUSED, "bad port") is in its cause.
    const code = e.cause?.code ?? (typeof e.code === 'string' ? e.code : undefined) ?? e.cause?.message;
    const message = (e.message ?? '').split('\n')[0];
    return [status ? `HTTP ${status}` : '', code ?? '', message].filter(Boolean).join(' ').slice(0, 200);
  }
  return String(err);
}

@Injectable()
export class KubernetesMembership implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Kubernetes');
  private readonly sources: Source[] = [];
  private readonly listeners = new Set<(service: string) => void>();
  private view = new Map<string, readonly ClusterEndpoint[]>();
  /** Names learnt through label discovery; kept once seen so a service never silently falls back to reports. */
  private readonly discovered = new Set<string>();
  private readonly conflictsWarned = new Set<string>();
  private readonly delayTimers = new Set<NodeJS.Timeout>();
  private flushScheduled = false;
  private started = false;
  private closed = false;

  constructor(
    @Inject(KUBERNETES_CONFIG) private readonly config: KubernetesConfig,
    @Optional() @Inject(KUBE_CONFIG) private readonly kubeConfig?: KubeConfig | null,
  ) {}

  // ---- the seam ---------------------------------------------------------------------------

  /** False outside a cluster or when nothing is configured to watch. */
  enabled(): boolean {
    return this.config.enabled;
  }

  /**
   * True when `service` is backed by watched Kubernetes Services: then Kubernetes is the source of
   * truth for its membership. With label discovery on, every name counts as watched until the
   * discovery watches have synced (endpoints() is undefined meanwhile), so that no report can
   * define a membership that Kubernetes is about to define.
   */
  watches(service: string): boolean {
    if (!this.config.enabled) return false;
    if (this.config.services.some((s) => s.name === service)) return true;
    if (this.config.discoveryNamespaces.length === 0) return false;
    return !this.discoverySynced() || this.discovered.has(service);
  }

  /** The merged endpoints of `service`, sorted by host and port; undefined until its first sync. */
  endpoints(service: string): readonly ClusterEndpoint[] | undefined {
    return this.view.get(service);
  }

  /** Called with a service name whenever its endpoints() change (first sync included). */
  onChange(listener: (service: string) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  // ---- lifecycle and status -----------------------------------------------------------------

  /** True once every watch has completed its first list. */
  synced(): boolean {
    return this.sources.length > 0 && this.sources.every((s) => s.synced);
  }

  /** Resolves true once synced(), false after `timeoutMs`. */
  async whenSynced(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.synced()) {
      if (this.closed || !this.config.enabled || Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 25));
    }
    return true;
  }

  status(): SourceStatus[] {
    return this.sources.map((s) => ({
      label: s.label,
      synced: s.synced,
      failures: s.failures,
      lastError: s.lastError,
      resourceVersion: s.informer.latestResourceVersion(),
    }));
  }

  onModuleInit(): void {
    this.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.stop();
  }

  /** Starts the watches (idempotent; no-op when disabled). Does not wait for the first sync. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    if (!this.config.enabled) {
      this.logger.log(`Kubernetes membership off: ${this.config.disabledReason ?? 'disabled'}`);
      return;
    }
    const kc = this.kubeConfig ?? loadKubeConfig(this.config);
    const api = kc.makeApiClient(DiscoveryV1Api);
    const base = '/apis/discovery.k8s.io/v1';
    for (const svc of this.config.services) {
      const labelSelector = `${SERVICE_NAME_LABEL}=${svc.service}`;
      const path = `${base}/namespaces/${svc.namespace}/endpointslices`;
      this.addSource(kc, {
        label: `${svc.name} (${svc.namespace}/${svc.service})`,
        kind: 'explicit',
        explicit: svc,
        path,
        labelSelector,
        list: () => api.listNamespacedEndpointSlice({ namespace: svc.namespace, labelSelector }),
      });
    }
    for (const ns of this.config.discoveryNamespaces) {
      const labelSelector = this.config.serviceLabel;
      const all = ns === '*';
      this.addSource(kc, {
        label: `discovery (${all ? 'all namespaces' : ns})`,
        kind: 'discovery',
        path: all ? `${base}/endpointslices` : `${base}/namespaces/${ns}/endpointslices`,
        labelSelector,
        list: () =>
          all
            ? api.listEndpointSliceForAllNamespaces({ labelSelector })
            : api.listNamespacedEndpointSlice({ namespace: ns, labelSelector }),
      });
    }
    this.logger.log(
      `Kubernetes membership on (${this.config.credentials}): ${this.sources.map((s) => s.label).join(', ')}`,
    );
    for (const source of this.sources) this.startSource(source);
  }

  /** Stops every watch and timer; the last view stays readable. */
  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.delayTimers) clearTimeout(t);
    this.delayTimers.clear();
    for (const s of this.sources) {
      if (s.restartTimer) clearTimeout(s.restartTimer);
      s.restartTimer = undefined;
      await s.informer.stop();
      s.watch.close();
    }
  }

  // ---- internals ------------------------------------------------------------------------------

  private addSource(
    kc: KubeConfig,
    spec: {
      label: string;
      kind: Source['kind'];
      explicit?: ServiceWatchConfig;
      path: string;
      labelSelector: string;
      list: () => Promise<V1EndpointSliceList>;
    },
  ): void {
    // The informer's own delay between clean watch re-opens (1 s doubling to 30 s while no event
    // arrives) is capped by our backoff maximum, and never fires after stop().
    const delayFn = (ms: number): Promise<void> =>
      new Promise<void>((resolve) => {
        if (this.closed) return;
        const t = setTimeout(() => {
          this.delayTimers.delete(t);
          resolve();
        }, Math.min(ms, this.config.backoffMaxMs));
        this.delayTimers.add(t);
      });
    let source!: Source;
    const listFn = async (): Promise<V1EndpointSliceList> => {
      const list = await spec.list();
      // The informer applies the items synchronously right after this promise settles, before
      // the flush scheduled here runs.
      source.listed = true;
      source.dirty = true;
      source.failures = 0;
      this.schedule();
      return list;
    };
    const watch = new ClosableWatch(kc);
    const informer = new ListWatch<V1EndpointSlice>(
      spec.path,
      watch,
      listFn,
      false,
      spec.labelSelector,
      undefined,
      { delayFn },
    );
    source = {
      label: spec.label,
      kind: spec.kind,
      explicit: spec.explicit,
      informer,
      watch,
      synced: false,
      listed: false,
      dirty: false,
      failures: 0,
    };
    const changed = (): void => {
      source.failures = 0;
      source.dirty = true;
      this.schedule();
    };
    informer.on('add', changed);
    informer.on('update', changed);
    informer.on('delete', changed);
    informer.on('error', (err?: unknown) => this.onError(source, err));
    this.sources.push(source);
  }

  private startSource(source: Source): void {
    if (this.closed) return;
    source.informer.start().catch((err: unknown) => this.onError(source, err));
  }

  private onError(source: Source, err: unknown): void {
    if (this.closed) return;
    source.failures++;
    source.lastError = describe(err);
    const exp = Math.min(this.config.backoffMaxMs, this.config.backoffMinMs * 2 ** Math.min(source.failures - 1, 30));
    const delay = Math.max(1, Math.round(exp * (0.8 + Math.random() * 0.4)));
    const log = source.failures === 1 || source.failures % 10 === 0 ? 'warn' : 'debug';
    this.logger[log](
      `EndpointSlice watch ${source.label} failed (${source.lastError}); restarting in ${delay} ms (failure ${source.failures})`,
    );
    if (source.restartTimer) clearTimeout(source.restartTimer);
    source.restartTimer = setTimeout(() => {
      source.restartTimer = undefined;
      this.startSource(source);
    }, delay);
  }

  private schedule(): void {
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (!this.closed) this.flush();
    });
  }

  private discoverySynced(): boolean {
    return this.sources.filter((s) => s.kind === 'discovery').every((s) => s.synced);
  }

  private flush(): void {
    for (const s of this.sources) {
      if (s.listed) {
        s.synced = true;
        s.listed = false;
      }
    }
    const next = this.compute();
    for (const s of this.sources) s.dirty = false;
    const changed: string[] = [];
    for (const name of new Set([...this.view.keys(), ...next.keys()])) {
      if (!sameEndpoints(this.view.get(name), next.get(name))) changed.push(name);
    }
    this.view = next;
    for (const name of changed) {
      for (const listener of [...this.listeners]) {
        try {
          listener(name);
        } catch (err) {
          this.logger.error(`onChange listener failed for ${name}: ${describe(err)}`);
        }
      }
    }
  }

  private compute(): Map<string, readonly ClusterEndpoint[]> {
    const next = new Map<string, readonly ClusterEndpoint[]>();
    const merge = { addressType: this.config.addressType, serviceAccountLabel: this.config.serviceAccountLabel };
    const explicitNames = new Set(this.config.services.map((s) => s.name));
    for (const s of this.sources) {
      if (s.kind !== 'explicit' || !s.synced || !s.explicit) continue;
      const previous = this.view.get(s.explicit.name);
      next.set(
        s.explicit.name,
        !s.dirty && previous ? previous : freeze(mergeSlices(s.informer.list(), s.explicit.port, merge)),
      );
    }
    const discovery = this.sources.filter((s) => s.kind === 'discovery');
    if (discovery.length === 0 || !discovery.every((s) => s.synced)) return next;
    if (!discovery.some((s) => s.dirty)) {
      for (const name of this.discovered) {
        const previous = this.view.get(name);
        if (previous) next.set(name, previous);
      }
      return next;
    }

    // name -> port selector key -> slices
    const groups = new Map<string, Map<string, { port: PortSelector; slices: V1EndpointSlice[] }>>();
    const seenSlices = new Set<string>();
    for (const s of discovery) {
      for (const slice of s.informer.list()) {
        const key = `${slice.metadata?.namespace ?? ''}/${slice.metadata?.name ?? ''}`;
        if (seenSlices.has(key)) continue; // a slice seen by two discovery watches
        seenSlices.add(key);
        const name = slice.metadata?.labels?.[this.config.serviceLabel];
        if (!name) continue;
        if (explicitNames.has(name)) {
          if (!this.conflictsWarned.has(name)) {
            this.conflictsWarned.add(name);
            this.logger.warn(
              `EndpointSlice ${key} claims lookaside service "${name}" by label, which LOOKASIDE_K8S_SERVICES already maps: ignored`,
            );
          }
          continue;
        }
        this.discovered.add(name);
        const portName = slice.metadata?.labels?.[this.config.portLabel];
        const port: PortSelector =
          portName !== undefined ? { name: portName, strict: true } : { name: this.config.defaultPortName, strict: false };
        const portKey = `${port.strict ? 's' : 'l'}:${port.name}`;
        let byPort = groups.get(name);
        if (!byPort) groups.set(name, (byPort = new Map()));
        let group = byPort.get(portKey);
        if (!group) byPort.set(portKey, (group = { port, slices: [] }));
        group.slices.push(slice);
      }
    }
    for (const name of this.discovered) {
      const byPort = groups.get(name);
      const lists = byPort ? [...byPort.values()].map((g) => mergeSlices(g.slices, g.port, merge)) : [];
      next.set(name, freeze(unionEndpoints(lists)));
    }
    return next;
  }
}

function freeze(list: ClusterEndpoint[]): readonly ClusterEndpoint[] {
  for (const e of list) Object.freeze(e);
  return Object.freeze(list);
}
