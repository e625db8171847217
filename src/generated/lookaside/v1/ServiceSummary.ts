// Original file: protos/lookaside/v1/registry.proto

import type { Long } from '@grpc/proto-loader';

export interface ServiceSummary {
  'name'?: (string);
  'backends'?: (number);
  'serving'?: (number);
  'version'?: (number | string | Long);
}

export interface ServiceSummary__Output {
  'name': (string);
  'backends': (number);
  'serving': (number);
  'version': (number);
}
