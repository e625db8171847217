// Original file: protos/envoy/config/endpoint/v3/load_report.proto

import type { Locality as _envoy_config_core_v3_Locality, Locality__Output as _envoy_config_core_v3_Locality__Output } from '../../../../envoy/config/core/v3/Locality.js';
import type { Long } from '@grpc/proto-loader';

export interface UpstreamLocalityStats {
  'locality'?: (_envoy_config_core_v3_Locality | null);
  'totalSuccessfulRequests'?: (number | string | Long);
  'totalRequestsInProgress'?: (number | string | Long);
  'totalErrorRequests'?: (number | string | Long);
  'priority'?: (number);
  'totalIssuedRequests'?: (number | string | Long);
}

export interface UpstreamLocalityStats__Output {
  'locality': (_envoy_config_core_v3_Locality__Output | null);
  'totalSuccessfulRequests': (number);
  'totalRequestsInProgress': (number);
  'totalErrorRequests': (number);
  'priority': (number);
  'totalIssuedRequests': (number);
}
