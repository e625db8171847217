// Original file: protos/grpc/lb/v1/load_balancer.proto


export interface Server {
  'ipAddress'?: (Buffer | Uint8Array | string);
  'port'?: (number);
  'loadBalanceToken'?: (string);
  'drop'?: (boolean);
}

export interface Server__Output {
  'ipAddress': (Buffer);
  'port': (number);
  'loadBalanceToken': (string);
  'drop': (boolean);
}
