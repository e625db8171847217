// Original file: protos/lookaside/v1/registry.proto

import type { BackendStatus as _lookaside_v1_BackendStatus, BackendStatus__Output as _lookaside_v1_BackendStatus__Output } from '../../lookaside/v1/BackendStatus.js';
import type { Long } from '@grpc/proto-loader';

export interface ListBackendsResponse {
  'service'?: (string);
  'version'?: (number | string | Long);
  'backends'?: (_lookaside_v1_BackendStatus)[];
}

export interface ListBackendsResponse__Output {
  'service': (string);
  'version': (number);
  'backends': (_lookaside_v1_BackendStatus__Output)[];
}
