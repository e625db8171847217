// Original file: protos/grpc/lb/v1/load_balancer.proto

import type { Long } from '@grpc/proto-loader';

export interface ClientStatsPerToken {
  'loadBalanceToken'?: (string);
  'numCalls'?: (number | string | Long);
}

export interface ClientStatsPerToken__Output {
  'loadBalanceToken': (string);
  'numCalls': (number);
}
