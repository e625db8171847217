// Original file: protos/lookaside/v1/registry.proto


export interface ListBackendsRequest {
  'service'?: (string);
}

export interface ListBackendsRequest__Output {
  'service': (string);
}
