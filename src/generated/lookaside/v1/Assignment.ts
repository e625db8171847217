// Original file: protos/lookaside/v1/assignments.proto

import type { AssignedBackend as _lookaside_v1_AssignedBackend, AssignedBackend__Output as _lookaside_v1_AssignedBackend__Output } from '../../lookaside/v1/AssignedBackend.js';
import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from '../../google/protobuf/Duration.js';
import type { Long } from '@grpc/proto-loader';

export interface Assignment {
  'service'?: (string);
  'version'?: (number | string | Long);
  'backends'?: (_lookaside_v1_AssignedBackend)[];
  'fallback'?: (boolean);
  'dropPpm'?: (number);
  'clientStatsInterval'?: (_google_protobuf_Duration | null);
}

export interface Assignment__Output {
  'service': (string);
  'version': (number);
  'backends': (_lookaside_v1_AssignedBackend__Output)[];
  'fallback': (boolean);
  'dropPpm': (number);
  'clientStatsInterval': (_google_protobuf_Duration__Output | null);
}
