// Original file: protos/lookaside/v1/registry.proto

import type { ServiceSummary as _lookaside_v1_ServiceSummary, ServiceSummary__Output as _lookaside_v1_ServiceSummary__Output } from '../../lookaside/v1/ServiceSummary.js';

export interface ListServicesResponse {
  'services'?: (_lookaside_v1_ServiceSummary)[];
}

export interface ListServicesResponse__Output {
  'services': (_lookaside_v1_ServiceSummary__Output)[];
}
