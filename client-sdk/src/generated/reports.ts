import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from './google/protobuf/Duration.js';
import type { Load as _lookaside_v1_Load, Load__Output as _lookaside_v1_Load__Output } from './lookaside/v1/Load.js';
import type { LoadReport as _lookaside_v1_LoadReport, LoadReport__Output as _lookaside_v1_LoadReport__Output } from './lookaside/v1/LoadReport.js';
import type { Registration as _lookaside_v1_Registration, Registration__Output as _lookaside_v1_Registration__Output } from './lookaside/v1/Registration.js';
import type { ReportRequest as _lookaside_v1_ReportRequest, ReportRequest__Output as _lookaside_v1_ReportRequest__Output } from './lookaside/v1/ReportRequest.js';
import type { ReportResponse as _lookaside_v1_ReportResponse, ReportResponse__Output as _lookaside_v1_ReportResponse__Output } from './lookaside/v1/ReportResponse.js';
import type { ReportsClient as _lookaside_v1_ReportsClient, ReportsDefinition as _lookaside_v1_ReportsDefinition } from './lookaside/v1/Reports.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  google: {
    protobuf: {
      Duration: MessageTypeDefinition<_google_protobuf_Duration, _google_protobuf_Duration__Output>
    }
  }
  lookaside: {
    v1: {
      Load: MessageTypeDefinition<_lookaside_v1_Load, _lookaside_v1_Load__Output>
      LoadReport: MessageTypeDefinition<_lookaside_v1_LoadReport, _lookaside_v1_LoadReport__Output>
      Registration: MessageTypeDefinition<_lookaside_v1_Registration, _lookaside_v1_Registration__Output>
      ReportRequest: MessageTypeDefinition<_lookaside_v1_ReportRequest, _lookaside_v1_ReportRequest__Output>
      ReportResponse: MessageTypeDefinition<_lookaside_v1_ReportResponse, _lookaside_v1_ReportResponse__Output>
      Reports: SubtypeConstructor<typeof grpc.Client, _lookaside_v1_ReportsClient> & { service: _lookaside_v1_ReportsDefinition }
      ServingState: EnumTypeDefinition
    }
  }
}

