// Original file: protos/lookaside/v1/assignments.proto

import type { TokenLoad as _lookaside_v1_TokenLoad, TokenLoad__Output as _lookaside_v1_TokenLoad__Output } from '../../lookaside/v1/TokenLoad.js';
import type { Long } from '@grpc/proto-loader';

export interface ClientLoad {
  'tokens'?: (_lookaside_v1_TokenLoad)[];
  'callsDropped'?: (number | string | Long);
}

export interface ClientLoad__Output {
  'tokens': (_lookaside_v1_TokenLoad__Output)[];
  'callsDropped': (number);
}
