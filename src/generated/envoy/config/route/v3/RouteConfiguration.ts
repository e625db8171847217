// Original file: protos/envoy/config/route/v3/route.proto

import type { VirtualHost as _envoy_config_route_v3_VirtualHost, VirtualHost__Output as _envoy_config_route_v3_VirtualHost__Output } from '../../../../envoy/config/route/v3/VirtualHost.js';

export interface RouteConfiguration {
  'name'?: (string);
  'virtualHosts'?: (_envoy_config_route_v3_VirtualHost)[];
}

export interface RouteConfiguration__Output {
  'name': (string);
  'virtualHosts': (_envoy_config_route_v3_VirtualHost__Output)[];
}
