// Original file: protos/lookaside/v1/common.proto


export interface Load {
  'cpuUtilization'?: (number | string);
  'memUtilization'?: (number | string);
  'applicationUtilization'?: (number | string);
  'rpsFractional'?: (number | string);
  'eps'?: (number | string);
  'requestsInFlight'?: (number);
  'namedMetrics'?: ({[key: string]: number | string});
}

export interface Load__Output {
  'cpuUtilization': (number);
  'memUtilization': (number);
  'applicationUtilization': (number);
  'rpsFractional': (number);
  'eps': (number);
  'requestsInFlight': (number);
  'namedMetrics': ({[key: string]: number});
}
