// Original file: protos/envoy/config/endpoint/v3/endpoint_components.proto

import type { Endpoint as _envoy_config_endpoint_v3_Endpoint, Endpoint__Output as _envoy_config_endpoint_v3_Endpoint__Output } from '../../../../envoy/config/endpoint/v3/Endpoint.js';
import type { HealthStatus as _envoy_config_core_v3_HealthStatus, HealthStatus__Output as _envoy_config_core_v3_HealthStatus__Output } from '../../../../envoy/config/core/v3/HealthStatus.js';
import type { UInt32Value as _google_protobuf_UInt32Value, UInt32Value__Output as _google_protobuf_UInt32Value__Output } from '../../../../google/protobuf/UInt32Value.js';

export interface LbEndpoint {
  'endpoint'?: (_envoy_config_endpoint_v3_Endpoint | null);
  'healthStatus'?: (_envoy_config_core_v3_HealthStatus);
  'loadBalancingWeight'?: (_google_protobuf_UInt32Value | null);
  'hostIdentifier'?: "endpoint";
}

export interface LbEndpoint__Output {
  'endpoint'?: (_envoy_config_endpoint_v3_Endpoint__Output | null);
  'healthStatus': (_envoy_config_core_v3_HealthStatus__Output);
  'loadBalancingWeight': (_google_protobuf_UInt32Value__Output | null);
  'hostIdentifier'?: "endpoint";
}
