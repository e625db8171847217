// Original file: protos/lookaside/v1/reports.proto

import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from '../../google/protobuf/Duration.js';
import type { Long } from '@grpc/proto-loader';

export interface ReportResponse {
  'backendId'?: (string);
  'loadBalanceToken'?: (string);
  'reportInterval'?: (_google_protobuf_Duration | null);
  'leaseTtl'?: (_google_protobuf_Duration | null);
  'accepted'?: (number | string | Long);
}

export interface ReportResponse__Output {
  'backendId': (string);
  'loadBalanceToken': (string);
  'reportInterval': (_google_protobuf_Duration__Output | null);
  'leaseTtl': (_google_protobuf_Duration__Output | null);
  'accepted': (number);
}
