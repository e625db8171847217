// Original file: protos/lookaside/v1/reports.proto

import type { ServingState as _lookaside_v1_ServingState, ServingState__Output as _lookaside_v1_ServingState__Output } from '../../lookaside/v1/ServingState.js';
import type { Load as _lookaside_v1_Load, Load__Output as _lookaside_v1_Load__Output } from '../../lookaside/v1/Load.js';

export interface Registration {
  'service'?: (string);
  'host'?: (string);
  'port'?: (number);
  'zone'?: (string);
  'labels'?: ({[key: string]: string});
  'state'?: (_lookaside_v1_ServingState);
  'load'?: (_lookaside_v1_Load | null);
}

export interface Registration__Output {
  'service': (string);
  'host': (string);
  'port': (number);
  'zone': (string);
  'labels': ({[key: string]: string});
  'state': (_lookaside_v1_ServingState__Output);
  'load': (_lookaside_v1_Load__Output | null);
}
