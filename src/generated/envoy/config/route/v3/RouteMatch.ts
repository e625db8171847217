// Original file: protos/envoy/config/route/v3/route_components.proto


export interface RouteMatch {
  'prefix'?: (string);
  'path'?: (string);
  'pathSpecifier'?: "prefix"|"path";
}

export interface RouteMatch__Output {
  'prefix'?: (string);
  'path'?: (string);
  'pathSpecifier'?: "prefix"|"path";
}
