// Original file: protos/envoy/config/endpoint/v3/endpoint_components.proto

import type { Locality as _envoy_config_core_v3_Locality, Locality__Output as _envoy_config_core_v3_Locality__Output } from '../../../../envoy/config/core/v3/Locality.js';
import type { LbEndpoint as _envoy_config_endpoint_v3_LbEndpoint, LbEndpoint__Output as _envoy_config_endpoint_v3_LbEndpoint__Output } from '../../../../envoy/config/endpoint/v3/LbEndpoint.js';
import type { UInt32Value as _google_protobuf_UInt32Value, UInt32Value__Output as _google_protobuf_UInt32Value__Output } from '../../../../google/protobuf/UInt32Value.js';

export interface LocalityLbEndpoints {
  'locality'?: (_envoy_config_core_v3_Locality | null);
  'lbEndpoints'?: (_envoy_config_endpoint_v3_LbEndpoint)[];
  'loadBalancingWeight'?: (_google_protobuf_UInt32Value | null);
  'priority'?: (number);
}

export interface LocalityLbEndpoints__Output {
  'locality': (_envoy_config_core_v3_Locality__Output | null);
  'lbEndpoints': (_envoy_config_endpoint_v3_LbEndpoint__Output)[];
  'loadBalancingWeight': (_google_protobuf_UInt32Value__Output | null);
  'priority': (number);
}
