// Original file: protos/lookaside/v1/registry.proto

import type { ServingState as _lookaside_v1_ServingState, ServingState__Output as _lookaside_v1_ServingState__Output } from '../../lookaside/v1/ServingState.js';
import type { Load as _lookaside_v1_Load, Load__Output as _lookaside_v1_Load__Output } from '../../lookaside/v1/Load.js';
import type { Long } from '@grpc/proto-loader';

export interface BackendStatus {
  'backendId'?: (string);
  'host'?: (string);
  'port'?: (number);
  'zone'?: (string);
  'labels'?: ({[key: string]: string});
  'state'?: (_lookaside_v1_ServingState);
  'load'?: (_lookaside_v1_Load | null);
  'loadBalanceToken'?: (string);
  'lastReportUnixMs'?: (number | string | Long);
  'weight'?: (number);
}

export interface BackendStatus__Output {
  'backendId': (string);
  'host': (string);
  'port': (number);
  'zone': (string);
  'labels': ({[key: string]: string});
  'state': (_lookaside_v1_ServingState__Output);
  'load': (_lookaside_v1_Load__Output | null);
  'loadBalanceToken': (string);
  'lastReportUnixMs': (number);
  'weight': (number);
}
