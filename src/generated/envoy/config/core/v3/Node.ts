// Original file: protos/envoy/config/core/v3/base.proto

import type { Locality as _envoy_config_core_v3_Locality, Locality__Output as _envoy_config_core_v3_Locality__Output } from '../../../../envoy/config/core/v3/Locality.js';

export interface Node {
  'id'?: (string);
  'cluster'?: (string);
  'locality'?: (_envoy_config_core_v3_Locality | null);
  'userAgentName'?: (string);
  'userAgentVersion'?: (string);
  'clientFeatures'?: (string)[];
  'userAgentVersionType'?: "userAgentVersion";
}

export interface Node__Output {
  'id': (string);
  'cluster': (string);
  'locality': (_envoy_config_core_v3_Locality__Output | null);
  'userAgentName': (string);
  'userAgentVersion'?: (string);
  'clientFeatures': (string)[];
  'userAgentVersionType'?: "userAgentVersion";
}
