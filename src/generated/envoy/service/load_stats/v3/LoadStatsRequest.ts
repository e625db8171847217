// Original file: protos/envoy/service/load_stats/v3/lrs.proto

import type { Node as _envoy_config_core_v3_Node, Node__Output as _envoy_config_core_v3_Node__Output } from '../../../../envoy/config/core/v3/Node.js';
import type { ClusterStats as _envoy_config_endpoint_v3_ClusterStats, ClusterStats__Output as _envoy_config_endpoint_v3_ClusterStats__Output } from '../../../../envoy/config/endpoint/v3/ClusterStats.js';

export interface LoadStatsRequest {
  'node'?: (_envoy_config_core_v3_Node | null);
  'clusterStats'?: (_envoy_config_endpoint_v3_ClusterStats)[];
}

export interface LoadStatsRequest__Output {
  'node': (_envoy_config_core_v3_Node__Output | null);
  'clusterStats': (_envoy_config_endpoint_v3_ClusterStats__Output)[];
}
