// Original file: protos/lookaside/v1/reports.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ReportRequest as _lookaside_v1_ReportRequest, ReportRequest__Output as _lookaside_v1_ReportRequest__Output } from '../../lookaside/v1/ReportRequest.js';
import type { ReportResponse as _lookaside_v1_ReportResponse, ReportResponse__Output as _lookaside_v1_ReportResponse__Output } from '../../lookaside/v1/ReportResponse.js';

export interface ReportsClient extends grpc.Client {
  Report(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_lookaside_v1_ReportRequest, _lookaside_v1_ReportResponse__Output>;
  Report(options?: grpc.CallOptions): grpc.ClientDuplexStream<_lookaside_v1_ReportRequest, _lookaside_v1_ReportResponse__Output>;
  report(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_lookaside_v1_ReportRequest, _lookaside_v1_ReportResponse__Output>;
  report(options?: grpc.CallOptions): grpc.ClientDuplexStream<_lookaside_v1_ReportRequest, _lookaside_v1_ReportResponse__Output>;
  
}

export interface ReportsHandlers extends grpc.UntypedServiceImplementation {
  Report: grpc.handleBidiStreamingCall<_lookaside_v1_ReportRequest__Output, _lookaside_v1_ReportResponse>;
  
}

export interface ReportsDefinition extends grpc.ServiceDefinition {
  Report: MethodDefinition<_lookaside_v1_ReportRequest, _lookaside_v1_ReportResponse, _lookaside_v1_ReportRequest__Output, _lookaside_v1_ReportResponse__Output>
}
