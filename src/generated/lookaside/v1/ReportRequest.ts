// Original file: protos/lookaside/v1/reports.proto

import type { Registration as _lookaside_v1_Registration, Registration__Output as _lookaside_v1_Registration__Output } from '../../lookaside/v1/Registration.js';
import type { LoadReport as _lookaside_v1_LoadReport, LoadReport__Output as _lookaside_v1_LoadReport__Output } from '../../lookaside/v1/LoadReport.js';

export interface ReportRequest {
  'registration'?: (_lookaside_v1_Registration | null);
  'loadReport'?: (_lookaside_v1_LoadReport | null);
  'kind'?: "registration"|"loadReport";
}

export interface ReportRequest__Output {
  'registration'?: (_lookaside_v1_Registration__Output | null);
  'loadReport'?: (_lookaside_v1_LoadReport__Output | null);
  'kind'?: "registration"|"loadReport";
}
