import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Load as _lookaside_v1_Load, Load__Output as _lookaside_v1_Load__Output } from './lookaside/v1/Load.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  lookaside: {
    v1: {
      Load: MessageTypeDefinition<_lookaside_v1_Load, _lookaside_v1_Load__Output>
      ServingState: EnumTypeDefinition
    }
  }
}

