// Original file: protos/xds/data/orca/v3/orca_load_report.proto

import type { Long } from '@grpc/proto-loader';

export interface OrcaLoadReport {
  'cpuUtilization'?: (number | string);
  'memUtilization'?: (number | string);
  'rps'?: (number | string | Long);
  'requestCost'?: ({[key: string]: number | string});
  'utilization'?: ({[key: string]: number | string});
  'rpsFractional'?: (number | string);
  'eps'?: (number | string);
  'namedMetrics'?: ({[key: string]: number | string});
  'applicationUtilization'?: (number | string);
}

export interface OrcaLoadReport__Output {
  'cpuUtilization': (number);
  'memUtilization': (number);
  'rps': (number);
  'requestCost': ({[key: string]: number});
  'utilization': ({[key: string]: number});
  'rpsFractional': (number);
  'eps': (number);
  'namedMetrics': ({[key: string]: number});
  'applicationUtilization': (number);
}
