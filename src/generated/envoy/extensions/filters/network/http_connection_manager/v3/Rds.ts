// Original file: protos/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto

import type { ConfigSource as _envoy_config_core_v3_ConfigSource, ConfigSource__Output as _envoy_config_core_v3_ConfigSource__Output } from '../../../../../../envoy/config/core/v3/ConfigSource.js';

export interface Rds {
  'configSource'?: (_envoy_config_core_v3_ConfigSource | null);
  'routeConfigName'?: (string);
}

export interface Rds__Output {
  'configSource': (_envoy_config_core_v3_ConfigSource__Output | null);
  'routeConfigName': (string);
}
