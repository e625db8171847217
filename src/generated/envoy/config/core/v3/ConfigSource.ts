// Original file: protos/envoy/config/core/v3/config_source.proto

import type { AggregatedConfigSource as _envoy_config_core_v3_AggregatedConfigSource, AggregatedConfigSource__Output as _envoy_config_core_v3_AggregatedConfigSource__Output } from '../../../../envoy/config/core/v3/AggregatedConfigSource.js';
import type { SelfConfigSource as _envoy_config_core_v3_SelfConfigSource, SelfConfigSource__Output as _envoy_config_core_v3_SelfConfigSource__Output } from '../../../../envoy/config/core/v3/SelfConfigSource.js';
import type { ApiVersion as _envoy_config_core_v3_ApiVersion, ApiVersion__Output as _envoy_config_core_v3_ApiVersion__Output } from '../../../../envoy/config/core/v3/ApiVersion.js';

export interface ConfigSource {
  'ads'?: (_envoy_config_core_v3_AggregatedConfigSource | null);
  'self'?: (_envoy_config_core_v3_SelfConfigSource | null);
  'resourceApiVersion'?: (_envoy_config_core_v3_ApiVersion);
  'configSourceSpecifier'?: "ads"|"self";
}

export interface ConfigSource__Output {
  'ads'?: (_envoy_config_core_v3_AggregatedConfigSource__Output | null);
  'self'?: (_envoy_config_core_v3_SelfConfigSource__Output | null);
  'resourceApiVersion': (_envoy_config_core_v3_ApiVersion__Output);
  'configSourceSpecifier'?: "ads"|"self";
}
