// Original file: protos/envoy/config/listener/v3/listener.proto

import type { ApiListener as _envoy_config_listener_v3_ApiListener, ApiListener__Output as _envoy_config_listener_v3_ApiListener__Output } from '../../../../envoy/config/listener/v3/ApiListener.js';

export interface Listener {
  'name'?: (string);
  'apiListener'?: (_envoy_config_listener_v3_ApiListener | null);
}

export interface Listener__Output {
  'name': (string);
  'apiListener': (_envoy_config_listener_v3_ApiListener__Output | null);
}
