// Original file: protos/lookaside/v1/assignments.proto


export interface WatchStart {
  'service'?: (string);
  'clientZone'?: (string);
}

export interface WatchStart__Output {
  'service': (string);
  'clientZone': (string);
}
