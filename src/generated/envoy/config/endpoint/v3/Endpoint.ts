// Original file: protos/envoy/config/endpoint/v3/endpoint_components.proto

import type { Address as _envoy_config_core_v3_Address, Address__Output as _envoy_config_core_v3_Address__Output } from '../../../../envoy/config/core/v3/Address.js';

export interface Endpoint {
  'address'?: (_envoy_config_core_v3_Address | null);
}

export interface Endpoint__Output {
  'address': (_envoy_config_core_v3_Address__Output | null);
}
