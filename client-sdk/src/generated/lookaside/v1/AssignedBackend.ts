// Original file: protos/lookaside/v1/assignments.proto

import type { ServingState as _lookaside_v1_ServingState, ServingState__Output as _lookaside_v1_ServingState__Output } from '../../lookaside/v1/ServingState.js';

export interface AssignedBackend {
  'host'?: (string);
  'port'?: (number);
  'weight'?: (number);
  'loadBalanceToken'?: (string);
  'zone'?: (string);
  'state'?: (_lookaside_v1_ServingState);
  'labels'?: ({[key: string]: string});
}

export interface AssignedBackend__Output {
  'host': (string);
  'port': (number);
  'weight': (number);
  'loadBalanceToken': (string);
  'zone': (string);
  'state': (_lookaside_v1_ServingState__Output);
  'labels': ({[key: string]: string});
}
