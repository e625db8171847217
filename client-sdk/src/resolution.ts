// The seam between the lookaside resolver and the lookaside policy: what the resolver learnt
// about each address, passed as a resolver attribute. grpc-js merges resolver attributes into
// the options it hands the policy, and drops keys with SUBCHANNEL_ARGS_EXCLUDE_KEY_PREFIX
// before creating subchannels, so this object never reaches a subchannel's arguments.
import { experimental } from '@grpc/grpc-js';
import type { LoadRecorder } from './load-recorder.js';

/** Name of the LB policy (the key in the service config's loadBalancingConfig). */
export const LB_POLICY_NAME = 'lookaside';

/** Resolver attribute holding a LookasideResolution. */
export const RESOLUTION_ATTRIBUTE = `${experimental.SUBCHANNEL_ARGS_EXCLUDE_KEY_PREFIX}.lookaside.resolution`;

export interface BackendInfo {
  /** Relative share of calls, > 0. */
  readonly weight: number;
  /** The backend's load-balance token ('' when it has none): ClientLoad's key, and `lb-token` metadata when sendTokens. */
  readonly token: string;
  /** False for DRAINING and NOT_SERVING backends: kept connected, never picked. */
  readonly serving: boolean;
}

export interface LookasideResolution {
  /** Where the addresses come from: the lookaside's assignment or the fallback target. */
  readonly source: 'lookaside' | 'fallback';
  readonly service: string;
  /** Assignment version (0 for fallback results). */
  readonly version: number;
  /** By address as experimental.subchannelAddressToString writes it. */
  readonly backends: ReadonlyMap<string, BackendInfo>;
  /** Share of calls to drop, in parts per million. */
  readonly dropPpm: number;
  /** Whether calls carry their backend's token as `lb-token` metadata. */
  readonly sendTokens: boolean;
  /** Where per-token call counts go; null when nobody wants them. */
  readonly recorder: LoadRecorder | null;
  /** The status detail for calls when no backend can be picked because there is none. */
  readonly emptyMessage: string;
}

export const DEFAULT_BACKEND: BackendInfo = Object.freeze({ weight: 1, token: '', serving: true });
