// The `lookaside` LB policy: one subchannel per assigned address, kept across updates (diffed
// by address) and connected eagerly, and a WeightedPicker over the READY, serving ones. Works
// with any resolver; without a LookasideResolution attribute every address has weight 1.
import { connectivityState, experimental, status, type ChannelOptions, type Metadata } from '@grpc/grpc-js';
import { CALL_LOAD_TRAILER, decodeCallLoad, type CallLoadFigures } from './call-load-trailer.js';
import type { LoadRecorder, TokenCounters } from './load-recorder.js';
import { CHANNEL_OPTION } from './options.js';
import { CallLoad, DEFAULT_PICK_CANDIDATES, DEFAULT_TARGET_UTILIZATION, FleetLoad, WeightedPicker, type PickTarget, type PickTuning } from './picker.js';
import { DEFAULT_BACKEND, LB_POLICY_NAME, RESOLUTION_ATTRIBUTE, type BackendInfo, type LookasideResolution } from './resolution.js';

type ChannelControlHelper = experimental.ChannelControlHelper;
type SubchannelInterface = experimental.SubchannelInterface;
type PickResult = experimental.PickResult;

export class LookasideLoadBalancingConfig implements experimental.TypedLoadBalancingConfig {
  getLoadBalancerName(): string {
    return LB_POLICY_NAME;
  }

  toJsonObject(): object {
    return { [LB_POLICY_NAME]: {} };
  }

  static createFromJson(_obj: unknown): LookasideLoadBalancingConfig {
    return new LookasideLoadBalancingConfig();
  }
}

/** One assigned address and its subchannel. */
interface Backend {
  readonly key: string;
  readonly subchannel: SubchannelInterface;
  readonly listener: experimental.ConnectivityStateListener;
  state: connectivityState;
  info: BackendInfo;
  /** Built once per (subchannel, token, recorder); what the picker hands grpc-js. */
  result: PickResult;
  recorder: LoadRecorder | null;
  /** This client's calls in flight and recent failures on this backend. */
  readonly load: CallLoad;
}

/** Reused by every call end: decodeCallLoad fills it in place (calls end one at a time). */
const trailerFigures: CallLoadFigures = { requestsInFlight: -1, utilization: -1 };

/** The call's end on this client, then what the backend said of its load in the trailer, if anything. */
function callEnded(load: CallLoad, code: status, trailer: Metadata): void {
  const now = performance.now();
  load.ended(code !== status.OK, now);
  const values = trailer.get(CALL_LOAD_TRAILER);
  if (values.length === 1 && Buffer.isBuffer(values[0]) && decodeCallLoad(values[0], trailerFigures)) {
    load.observed(trailerFigures.requestsInFlight, trailerFigures.utilization, now);
  }
}

function completeResult(subchannel: SubchannelInterface, counters: TokenCounters | null, load: CallLoad): PickResult {
  return {
    pickResultType: experimental.PickResultType.COMPLETE,
    subchannel,
    status: null,
    onCallStarted: counters
      ? () => {
          counters.started++;
          load.started();
        }
      : () => load.started(),
    onCallEnded: counters
      ? (code, _details, trailer) => {
          counters.finished++;
          if (code !== status.OK) counters.failed++;
          callEnded(load, code, trailer);
        }
      : (code, _details, trailer) => callEnded(load, code, trailer),
  };
}

/** The channel's pick settings: `lookaside.target_utilization` when above 0, `lookaside.pick_candidates` when an integer of at least 1. */
export function pickTuning(options: ChannelOptions): PickTuning {
  const target = options[CHANNEL_OPTION.targetUtilization];
  const candidates = options[CHANNEL_OPTION.pickCandidates];
  return {
    targetUtilization: typeof target === 'number' && target > 0 && Number.isFinite(target) ? target : DEFAULT_TARGET_UTILIZATION,
    candidates: Number.isSafeInteger(candidates) && (candidates as number) >= 1 ? (candidates as number) : DEFAULT_PICK_CANDIDATES,
  };
}

export class LookasideLoadBalancer implements experimental.LoadBalancer {
  private readonly backends = new Map<string, Backend>();
  /** What every backend's figure from its trailers fades to. */
  private readonly fleet = new FleetLoad();
  private updatesPaused = false;
  private dropPpm = 0;
  private sendTokens = false;
  private tuning: PickTuning = {};
  private recorder: LoadRecorder | null = null;
  private service = '';
  private emptyMessage = 'lookaside: no addresses';
  private lastError = '';
  private readonly recordDrop = () => this.recorder?.recordDrop();

  constructor(private readonly helper: ChannelControlHelper) {}

  updateAddressList(
    endpointList: experimental.StatusOr<experimental.Endpoint[]>,
    lbConfig: experimental.TypedLoadBalancingConfig,
    options: ChannelOptions,
    resolutionNote: string,
  ): boolean {
    if (!(lbConfig instanceof LookasideLoadBalancingConfig)) return false;
    if (!endpointList.ok) {
      // Static stability: with backends in hand, a resolver error changes nothing.
      if (this.backends.size === 0) {
        const details = endpointList.error.details;
        this.helper.updateState(connectivityState.TRANSIENT_FAILURE, new experimental.UnavailablePicker(endpointList.error), details);
      }
      return true;
    }
    const resolution = (options[RESOLUTION_ATTRIBUTE] as LookasideResolution | undefined) ?? null;
    const wanted = new Map<string, { address: experimental.SubchannelAddress; info: BackendInfo }>();
    for (const endpoint of endpointList.value) {
      for (const address of endpoint.addresses) {
        const key = experimental.subchannelAddressToString(address);
        if (!wanted.has(key)) wanted.set(key, { address, info: resolution?.backends.get(key) ?? DEFAULT_BACKEND });
      }
    }
    this.recorder = resolution?.recorder ?? null;
    this.dropPpm = resolution?.dropPpm ?? 0;
    this.sendTokens = resolution?.sendTokens ?? false;
    this.tuning = pickTuning(options);
    this.service = resolution?.service ?? '';
    this.emptyMessage =
      resolution?.emptyMessage ?? `lookaside: the resolver returned no addresses${resolutionNote ? ` (${resolutionNote})` : ''}`;

    this.updatesPaused = true;
    for (const [key, backend] of this.backends) {
      if (!wanted.has(key)) this.remove(backend);
    }
    for (const [key, { address, info }] of wanted) {
      const backend = this.backends.get(key);
      if (!backend) {
        this.add(key, address, info, options);
      } else {
        if (backend.info.token !== info.token || backend.recorder !== this.recorder) {
          backend.recorder = this.recorder;
          backend.result = completeResult(backend.subchannel, this.countersFor(info.token), backend.load);
        }
        backend.info = info;
      }
    }
    this.updatesPaused = false;
    this.publish();
    return true;
  }

  exitIdle(): void {
    for (const backend of this.backends.values()) {
      if (backend.state === connectivityState.IDLE) backend.subchannel.startConnecting();
    }
  }

  resetBackoff(): void {
    // Subchannel backoff belongs to grpc-js; the Watch stream has its own.
  }

  destroy(): void {
    for (const backend of [...this.backends.values()]) this.remove(backend);
  }

  getTypeName(): string {
    return LB_POLICY_NAME;
  }

  private countersFor(token: string): TokenCounters | null {
    return this.recorder && token ? this.recorder.counters(token) : null;
  }

  private add(key: string, address: experimental.SubchannelAddress, info: BackendInfo, options: ChannelOptions): void {
    const subchannel = this.helper.createSubchannel(address, options);
    const load = new CallLoad(this.fleet);
    const backend: Backend = {
      key,
      subchannel,
      listener: (_sc, _previous, next, _keepalive, errorMessage) => this.onStateChange(backend, next, errorMessage),
      state: subchannel.getConnectivityState(),
      info,
      result: completeResult(subchannel, this.countersFor(info.token), load),
      recorder: this.recorder,
      load,
    };
    this.backends.set(key, backend);
    subchannel.ref();
    this.helper.addChannelzChild(subchannel.getChannelzRef());
    subchannel.addConnectivityStateListener(backend.listener);
    // Eager: a newly assigned backend pays its handshake before its first call.
    subchannel.startConnecting();
  }

  private remove(backend: Backend): void {
    this.backends.delete(backend.key);
    backend.subchannel.removeConnectivityStateListener(backend.listener);
    this.helper.removeChannelzChild(backend.subchannel.getChannelzRef());
    backend.subchannel.unref();
  }

  private onStateChange(backend: Backend, next: connectivityState, errorMessage?: string): void {
    if (this.backends.get(backend.key) !== backend) return;
    // A lost connection may mean moved addresses: a resolver that polls (the fallback's DNS)
    // looks again; the lookaside resolver, which is pushed changes, ignores the request.
    if (backend.state === connectivityState.READY && next !== connectivityState.READY) this.helper.requestReresolution();
    backend.state = next;
    if (errorMessage) this.lastError = errorMessage;
    // Keep every assigned backend connected, not only the ones calls happen to need.
    if (next === connectivityState.IDLE) backend.subchannel.startConnecting();
    this.publish();
  }

  private publish(): void {
    if (this.updatesPaused) return;
    const ready: PickTarget[] = [];
    let serving = 0;
    let connecting = 0;
    for (const b of this.backends.values()) {
      if (!b.info.serving) continue;
      serving++;
      if (b.state === connectivityState.READY) ready.push({ result: b.result, token: this.sendTokens ? b.info.token : '', weight: b.info.weight, load: b.load });
      else if (b.state === connectivityState.CONNECTING || b.state === connectivityState.IDLE) connecting++;
    }
    if (ready.length > 0) {
      const drop = this.dropPpm > 0 ? { ppm: this.dropPpm, onDrop: this.recordDrop } : null;
      this.helper.updateState(connectivityState.READY, new WeightedPicker(ready, drop, Math.random, undefined, this.tuning), null);
    } else if (serving === 0) {
      const details =
        this.backends.size === 0
          ? this.emptyMessage
          : `lookaside: no serving backend for "${this.service}" (all ${this.backends.size} are draining or not serving)`;
      this.helper.updateState(connectivityState.TRANSIENT_FAILURE, new experimental.UnavailablePicker({ code: status.UNAVAILABLE, details }), details);
    } else if (connecting > 0) {
      this.helper.updateState(connectivityState.CONNECTING, new experimental.QueuePicker(this), null);
    } else {
      const details = `lookaside: no backend of "${this.service}" is reachable (${serving} assigned); last error: ${this.lastError || 'none'}`;
      this.helper.updateState(connectivityState.TRANSIENT_FAILURE, new experimental.UnavailablePicker({ code: status.UNAVAILABLE, details }), details);
    }
  }
}
