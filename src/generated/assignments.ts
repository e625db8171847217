import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from './google/protobuf/Duration.js';
import type { AssignedBackend as _lookaside_v1_AssignedBackend, AssignedBackend__Output as _lookaside_v1_AssignedBackend__Output } from './lookaside/v1/AssignedBackend.js';
import type { Assignment as _lookaside_v1_Assignment, Assignment__Output as _lookaside_v1_Assignment__Output } from './lookaside/v1/Assignment.js';
import type { AssignmentsClient as _lookaside_v1_AssignmentsClient, AssignmentsDefinition as _lookaside_v1_AssignmentsDefinition } from './lookaside/v1/Assignments.js';
import type { ClientLoad as _lookaside_v1_ClientLoad, ClientLoad__Output as _lookaside_v1_ClientLoad__Output } from './lookaside/v1/ClientLoad.js';
import type { Load as _lookaside_v1_Load, Load__Output as _lookaside_v1_Load__Output } from './lookaside/v1/Load.js';
import type { TokenLoad as _lookaside_v1_TokenLoad, TokenLoad__Output as _lookaside_v1_TokenLoad__Output } from './lookaside/v1/TokenLoad.js';
import type { WatchRequest as _lookaside_v1_WatchRequest, WatchRequest__Output as _lookaside_v1_WatchRequest__Output } from './lookaside/v1/WatchRequest.js';
import type { WatchStart as _lookaside_v1_WatchStart, WatchStart__Output as _lookaside_v1_WatchStart__Output } from './lookaside/v1/WatchStart.js';

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
      AssignedBackend: MessageTypeDefinition<_lookaside_v1_AssignedBackend, _lookaside_v1_AssignedBackend__Output>
      Assignment: MessageTypeDefinition<_lookaside_v1_Assignment, _lookaside_v1_Assignment__Output>
      Assignments: SubtypeConstructor<typeof grpc.Client, _lookaside_v1_AssignmentsClient> & { service: _lookaside_v1_AssignmentsDefinition }
      ClientLoad: MessageTypeDefinition<_lookaside_v1_ClientLoad, _lookaside_v1_ClientLoad__Output>
      Load: MessageTypeDefinition<_lookaside_v1_Load, _lookaside_v1_Load__Output>
      ServingState: EnumTypeDefinition
      TokenLoad: MessageTypeDefinition<_lookaside_v1_TokenLoad, _lookaside_v1_TokenLoad__Output>
      WatchRequest: MessageTypeDefinition<_lookaside_v1_WatchRequest, _lookaside_v1_WatchRequest__Output>
      WatchStart: MessageTypeDefinition<_lookaside_v1_WatchStart, _lookaside_v1_WatchStart__Output>
    }
  }
}

