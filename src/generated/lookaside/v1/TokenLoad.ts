// Original file: protos/lookaside/v1/assignments.proto

import type { Long } from '@grpc/proto-loader';

export interface TokenLoad {
  'loadBalanceToken'?: (string);
  'callsStarted'?: (number | string | Long);
  'callsFinished'?: (number | string | Long);
  'callsFailed'?: (number | string | Long);
}

export interface TokenLoad__Output {
  'loadBalanceToken': (string);
  'callsStarted': (number);
  'callsFinished': (number);
  'callsFailed': (number);
}
