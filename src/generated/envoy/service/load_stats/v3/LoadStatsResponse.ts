// Original file: protos/envoy/service/load_stats/v3/lrs.proto

import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from '../../../../google/protobuf/Duration.js';

export interface LoadStatsResponse {
  'clusters'?: (string)[];
  'loadReportingInterval'?: (_google_protobuf_Duration | null);
  'reportEndpointGranularity'?: (boolean);
  'sendAllClusters'?: (boolean);
}

export interface LoadStatsResponse__Output {
  'clusters': (string)[];
  'loadReportingInterval': (_google_protobuf_Duration__Output | null);
  'reportEndpointGranularity': (boolean);
  'sendAllClusters': (boolean);
}
