// Original file: protos/envoy/config/route/v3/route_components.proto


export interface RouteAction {
  'cluster'?: (string);
  'clusterSpecifier'?: "cluster";
}

export interface RouteAction__Output {
  'cluster'?: (string);
  'clusterSpecifier'?: "cluster";
}
