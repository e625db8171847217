// Original file: protos/lookaside/v1/assignments.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { Assignment as _lookaside_v1_Assignment, Assignment__Output as _lookaside_v1_Assignment__Output } from '../../lookaside/v1/Assignment.js';
import type { WatchRequest as _lookaside_v1_WatchRequest, WatchRequest__Output as _lookaside_v1_WatchRequest__Output } from '../../lookaside/v1/WatchRequest.js';

export interface AssignmentsClient extends grpc.Client {
  Watch(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_lookaside_v1_WatchRequest, _lookaside_v1_Assignment__Output>;
  Watch(options?: grpc.CallOptions): grpc.ClientDuplexStream<_lookaside_v1_WatchRequest, _lookaside_v1_Assignment__Output>;
  watch(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_lookaside_v1_WatchRequest, _lookaside_v1_Assignment__Output>;
  watch(options?: grpc.CallOptions): grpc.ClientDuplexStream<_lookaside_v1_WatchRequest, _lookaside_v1_Assignment__Output>;
  
}

export interface AssignmentsHandlers extends grpc.UntypedServiceImplementation {
  Watch: grpc.handleBidiStreamingCall<_lookaside_v1_WatchRequest__Output, _lookaside_v1_Assignment>;
  
}

export interface AssignmentsDefinition extends grpc.ServiceDefinition {
  Watch: MethodDefinition<_lookaside_v1_WatchRequest, _lookaside_v1_Assignment, _lookaside_v1_WatchRequest__Output, _lookaside_v1_Assignment__Output>
}
