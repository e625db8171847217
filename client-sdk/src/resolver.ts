// The `lookaside` resolver scheme: turns lookaside:///SERVICE into the current assignment's
// backends (with weights, tokens and serving state as a resolver attribute) and a service
// config that selects the lookaside policy. It owns the Watch stream and the fallback rules:
//
//  - no assignment yet and the lookaside fails (refused, stream ended) or the fallback timeout
//    passes: use the fallback target, or fail calls with UNAVAILABLE naming the lookaside;
//  - the lookaside says `fallback`: use the fallback target, or fail calls clearly;
//  - the lookaside is lost after an assignment: emit nothing (static stability: the policy
//    keeps the last backends) while the Watch reconnects; a replica that answers with the
//    version-0 "nothing known yet" fallback does not wipe the backends held either.
import { experimental, Metadata, status, type ChannelOptions, type ServiceConfig } from '@grpc/grpc-js';
import type { Assignment__Output } from './generated/lookaside/v1/Assignment.js';
import { LoadRecorder } from './load-recorder.js';
import { resolveClientConfig, serviceOf, type LookasideOptions, type ResolvedClientConfig } from './options.js';
import { LB_POLICY_NAME, RESOLUTION_ATTRIBUTE, type BackendInfo, type LookasideResolution } from './resolution.js';
import { AssignmentWatch } from './watch.js';

type Mode = 'idle' | 'waiting' | 'lookaside' | 'fallback' | 'failed';

const NOT_SERVING_STATES = new Set(['NOT_SERVING', 'DRAINING']);

/** Process-wide defaults set by registerLookaside(). */
let registeredDefaults: LookasideOptions = {};

export function setResolverDefaults(options: LookasideOptions): void {
  registeredDefaults = { ...options };
}

function serviceConfigFor(channelOptions: ChannelOptions): ServiceConfig {
  // Keep the user's method configs (timeouts, retries); only the policy is ours.
  let methodConfig: ServiceConfig['methodConfig'] = [];
  let retryThrottling: ServiceConfig['retryThrottling'];
  const raw = channelOptions['grpc.service_config'];
  if (typeof raw === 'string') {
    try {
      const parsed = JSON.parse(raw) as Partial<ServiceConfig>;
      methodConfig = parsed.methodConfig ?? [];
      retryThrottling = parsed.retryThrottling;
    } catch {
      // grpc-js reports a malformed grpc.service_config itself.
    }
  }
  return { loadBalancingConfig: [{ [LB_POLICY_NAME]: {} }], methodConfig, ...(retryThrottling ? { retryThrottling } : {}) };
}

export class LookasideResolver implements experimental.Resolver {
  private readonly config: ResolvedClientConfig | null = null;
  private readonly configError: string | null = null;
  private readonly serviceConfig: ServiceConfig;
  private readonly recorder = new LoadRecorder();
  private mode: Mode = 'idle';
  private watch: AssignmentWatch | null = null;
  private fallbackResolver: experimental.Resolver | null = null;
  private fallbackTimer: NodeJS.Timeout | null = null;
  private lastVersion = -1;
  /** Whether the last lookaside result listed at least one backend. */
  private holdingBackends = false;

  constructor(
    target: experimental.GrpcUri,
    private readonly listener: experimental.ResolverListener,
    private readonly channelOptions: ChannelOptions,
  ) {
    this.serviceConfig = serviceConfigFor(channelOptions);
    try {
      this.config = resolveClientConfig(target, channelOptions, registeredDefaults);
    } catch (e) {
      this.configError = (e as Error).message;
    }
  }

  static getDefaultAuthority(target: experimental.GrpcUri): string {
    return serviceOf(target);
  }

  updateResolution(): void {
    if (this.configError !== null) {
      if (this.mode === 'idle') {
        this.mode = 'failed';
        process.nextTick(() => this.emitError(this.configError!));
      }
      return;
    }
    if (this.mode === 'idle') this.start();
    else if (this.mode === 'fallback') this.fallbackResolver?.updateResolution();
  }

  destroy(): void {
    this.mode = 'idle';
    this.watch?.stop();
    this.watch = null;
    this.leaveFallback();
    if (this.fallbackTimer) clearTimeout(this.fallbackTimer);
    this.fallbackTimer = null;
    this.lastVersion = -1;
    this.holdingBackends = false;
  }

  private start(): void {
    const config = this.config!;
    this.mode = 'waiting';
    this.watch = new AssignmentWatch(
      {
        service: config.service,
        clientZone: config.clientZone,
        target: config.lookasideTarget,
        credentials: config.lookasideCredentials,
        channelOptions: config.lookasideChannelOptions,
        authToken: config.authToken,
        backoff: config.backoff,
        recorder: this.recorder,
      },
      {
        onAssignment: (a) => this.onAssignment(a),
        onStreamEnd: (s) => this.onStreamEnd(s.details),
      },
    );
    this.watch.start();
    this.fallbackTimer = setTimeout(() => {
      this.fallbackTimer = null;
      if (this.mode === 'waiting') {
        this.enterFallback(`no assignment from the lookaside at ${config.lookasideAddress} within ${config.fallbackTimeoutMs} ms`, false);
      }
    }, config.fallbackTimeoutMs);
    this.fallbackTimer.unref();
  }

  private onAssignment(a: Assignment__Output): void {
    if (this.mode === 'idle') return;
    const config = this.config!;
    if (this.fallbackTimer) clearTimeout(this.fallbackTimer);
    this.fallbackTimer = null;
    if (a.fallback && Number(a.version) === 0 && this.mode === 'lookaside' && this.holdingBackends) {
      // Version 0 is a replica that knows nothing of the service yet (just started, state
      // not loaded): keep the backends we have rather than drop them; any real change
      // arrives with a version above 0.
      return;
    }
    if (a.fallback) {
      this.lastVersion = Number(a.version);
      this.enterFallback(`the lookaside at ${config.lookasideAddress} has no backends for "${config.service}"`, true);
      return;
    }
    // A reconnect replays the current assignment: skip it when nothing changed.
    if (this.mode === 'lookaside' && Number(a.version) === this.lastVersion && Number(a.version) !== 0) return;
    this.leaveFallback();
    this.mode = 'lookaside';
    this.lastVersion = Number(a.version);
    this.emitAssignment(a);
  }

  private onStreamEnd(details: string): void {
    const config = this.config!;
    const reason = `the lookaside at ${config.lookasideAddress} is unreachable (${details})`;
    if (this.mode === 'waiting') this.enterFallback(reason, false);
    else if (this.mode === 'failed') this.emitError(`no assignment for "${config.service}": ${reason}; no fallback is configured`);
    // 'lookaside' and 'fallback': keep what we have (static stability) while the Watch reconnects.
  }

  private enterFallback(reason: string, authoritative: boolean): void {
    const config = this.config!;
    if (config.fallback) {
      if (this.mode === 'fallback') return;
      this.mode = 'fallback';
      const target = config.fallback;
      const child = experimental.createResolver(
        target,
        (endpoints, _attributes, _serviceConfig, note) => {
          if (this.fallbackResolver !== child) return true;
          if (endpoints.ok) this.emitFallback(endpoints.value, reason);
          else this.emitError(`${reason}; fallback ${experimental.uriToString(target)} failed: ${endpoints.error.details}${note ? ` (${note})` : ''}`);
          return true;
        },
        this.channelOptions,
      );
      this.fallbackResolver = child;
      child.updateResolution();
      return;
    }
    if (authoritative) {
      // The lookaside is reachable and says there is nothing to call: fail calls clearly.
      this.mode = 'lookaside';
      this.emitEmpty(`lookaside: ${reason} and no fallback is configured`, Math.max(this.lastVersion, 0));
    } else {
      this.mode = 'failed';
      this.emitError(`no assignment for "${config.service}": ${reason}; no fallback is configured`);
    }
  }

  private leaveFallback(): void {
    const child = this.fallbackResolver;
    this.fallbackResolver = null;
    child?.destroy();
  }

  private emitAssignment(a: Assignment__Output): void {
    const config = this.config!;
    const backends = new Map<string, BackendInfo>();
    const endpoints: experimental.Endpoint[] = [];
    const tokens = new Set<string>();
    for (const b of a.backends) {
      const address = { host: b.host, port: b.port };
      const key = experimental.subchannelAddressToString(address);
      if (backends.has(key)) continue;
      const info: BackendInfo = {
        // weight is "1 or more" on the wire; an unset (0) weight counts as 1.
        weight: b.weight > 0 ? b.weight : 1,
        token: b.loadBalanceToken,
        serving: !NOT_SERVING_STATES.has(String(b.state)),
      };
      backends.set(key, info);
      endpoints.push({ addresses: [address] });
      if (info.token) tokens.add(info.token);
    }
    this.recorder.setActiveTokens(tokens);
    const resolution: LookasideResolution = {
      source: 'lookaside',
      service: config.service,
      version: Number(a.version),
      backends,
      dropPpm: a.dropPpm,
      sendTokens: config.sendLoadBalanceToken,
      recorder: this.recorder,
      emptyMessage: `lookaside: the assignment for "${config.service}" (version ${a.version}) from the lookaside at ${config.lookasideAddress} lists no backends`,
    };
    this.holdingBackends = endpoints.length > 0;
    this.emit(endpoints, resolution, `lookaside ${config.lookasideAddress} version ${a.version}`);
  }

  private emitEmpty(message: string, version: number): void {
    const config = this.config!;
    const resolution: LookasideResolution = {
      source: 'lookaside',
      service: config.service,
      version,
      backends: new Map(),
      dropPpm: 0,
      sendTokens: config.sendLoadBalanceToken,
      recorder: this.recorder,
      emptyMessage: message,
    };
    this.holdingBackends = false;
    this.emit([], resolution, message);
  }

  private emitFallback(endpoints: experimental.Endpoint[], reason: string): void {
    const config = this.config!;
    const resolution: LookasideResolution = {
      source: 'fallback',
      service: config.service,
      version: 0,
      backends: new Map(),
      dropPpm: 0,
      sendTokens: false,
      recorder: null,
      emptyMessage: `lookaside: ${reason}; fallback ${experimental.uriToString(config.fallback!)} resolved to no addresses`,
    };
    this.emit(endpoints, resolution, `fallback: ${reason}`);
  }

  private emit(endpoints: experimental.Endpoint[], resolution: LookasideResolution, note: string): void {
    this.listener(
      experimental.statusOrFromValue(endpoints),
      { [RESOLUTION_ATTRIBUTE]: resolution },
      experimental.statusOrFromValue(this.serviceConfig),
      note,
    );
  }

  private emitError(details: string): void {
    const message = details.startsWith('lookaside:') ? details : `lookaside: ${details}`;
    this.listener(
      experimental.statusOrFromError({ code: status.UNAVAILABLE, details: message, metadata: new Metadata() }),
      {},
      experimental.statusOrFromValue(this.serviceConfig),
      message,
    );
  }
}
