// Original file: protos/lookaside/v1/reports.proto

import type { Load as _lookaside_v1_Load, Load__Output as _lookaside_v1_Load__Output } from '../../lookaside/v1/Load.js';
import type { ServingState as _lookaside_v1_ServingState, ServingState__Output as _lookaside_v1_ServingState__Output } from '../../lookaside/v1/ServingState.js';

export interface LoadReport {
  'load'?: (_lookaside_v1_Load | null);
  'state'?: (_lookaside_v1_ServingState);
}

export interface LoadReport__Output {
  'load': (_lookaside_v1_Load__Output | null);
  'state': (_lookaside_v1_ServingState__Output);
}
