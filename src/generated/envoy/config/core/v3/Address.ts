// Original file: protos/envoy/config/core/v3/address.proto

import type { SocketAddress as _envoy_config_core_v3_SocketAddress, SocketAddress__Output as _envoy_config_core_v3_SocketAddress__Output } from '../../../../envoy/config/core/v3/SocketAddress.js';

export interface Address {
  'socketAddress'?: (_envoy_config_core_v3_SocketAddress | null);
  'address'?: "socketAddress";
}

export interface Address__Output {
  'socketAddress'?: (_envoy_config_core_v3_SocketAddress__Output | null);
  'address'?: "socketAddress";
}
