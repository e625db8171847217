// Original file: protos/envoy/config/endpoint/v3/load_report.proto

import type { UpstreamLocalityStats as _envoy_config_endpoint_v3_UpstreamLocalityStats, UpstreamLocalityStats__Output as _envoy_config_endpoint_v3_UpstreamLocalityStats__Output } from '../../../../envoy/config/endpoint/v3/UpstreamLocalityStats.js';
import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from '../../../../google/protobuf/Duration.js';
import type { Long } from '@grpc/proto-loader';

export interface _envoy_config_endpoint_v3_ClusterStats_DroppedRequests {
  'category'?: (string);
  'droppedCount'?: (number | string | Long);
}

export interface _envoy_config_endpoint_v3_ClusterStats_DroppedRequests__Output {
  'category': (string);
  'droppedCount': (number);
}

export interface ClusterStats {
  'clusterName'?: (string);
  'upstreamLocalityStats'?: (_envoy_config_endpoint_v3_UpstreamLocalityStats)[];
  'totalDroppedRequests'?: (number | string | Long);
  'loadReportInterval'?: (_google_protobuf_Duration | null);
  'droppedRequests'?: (_envoy_config_endpoint_v3_ClusterStats_DroppedRequests)[];
  'clusterServiceName'?: (string);
}

export interface ClusterStats__Output {
  'clusterName': (string);
  'upstreamLocalityStats': (_envoy_config_endpoint_v3_UpstreamLocalityStats__Output)[];
  'totalDroppedRequests': (number);
  'loadReportInterval': (_google_protobuf_Duration__Output | null);
  'droppedRequests': (_envoy_config_endpoint_v3_ClusterStats_DroppedRequests__Output)[];
  'clusterServiceName': (string);
}
