// Original file: protos/lookaside/v1/assignments.proto

import type { WatchStart as _lookaside_v1_WatchStart, WatchStart__Output as _lookaside_v1_WatchStart__Output } from '../../lookaside/v1/WatchStart.js';
import type { ClientLoad as _lookaside_v1_ClientLoad, ClientLoad__Output as _lookaside_v1_ClientLoad__Output } from '../../lookaside/v1/ClientLoad.js';

export interface WatchRequest {
  'start'?: (_lookaside_v1_WatchStart | null);
  'clientLoad'?: (_lookaside_v1_ClientLoad | null);
  'kind'?: "start"|"clientLoad";
}

export interface WatchRequest__Output {
  'start'?: (_lookaside_v1_WatchStart__Output | null);
  'clientLoad'?: (_lookaside_v1_ClientLoad__Output | null);
  'kind'?: "start"|"clientLoad";
}
