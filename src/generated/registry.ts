import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { BackendStatus as _lookaside_v1_BackendStatus, BackendStatus__Output as _lookaside_v1_BackendStatus__Output } from './lookaside/v1/BackendStatus.js';
import type { ListBackendsRequest as _lookaside_v1_ListBackendsRequest, ListBackendsRequest__Output as _lookaside_v1_ListBackendsRequest__Output } from './lookaside/v1/ListBackendsRequest.js';
import type { ListBackendsResponse as _lookaside_v1_ListBackendsResponse, ListBackendsResponse__Output as _lookaside_v1_ListBackendsResponse__Output } from './lookaside/v1/ListBackendsResponse.js';
import type { ListServicesRequest as _lookaside_v1_ListServicesRequest, ListServicesRequest__Output as _lookaside_v1_ListServicesRequest__Output } from './lookaside/v1/ListServicesRequest.js';
import type { ListServicesResponse as _lookaside_v1_ListServicesResponse, ListServicesResponse__Output as _lookaside_v1_ListServicesResponse__Output } from './lookaside/v1/ListServicesResponse.js';
import type { Load as _lookaside_v1_Load, Load__Output as _lookaside_v1_Load__Output } from './lookaside/v1/Load.js';
import type { RegistryClient as _lookaside_v1_RegistryClient, RegistryDefinition as _lookaside_v1_RegistryDefinition } from './lookaside/v1/Registry.js';
import type { ServiceSummary as _lookaside_v1_ServiceSummary, ServiceSummary__Output as _lookaside_v1_ServiceSummary__Output } from './lookaside/v1/ServiceSummary.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  lookaside: {
    v1: {
      BackendStatus: MessageTypeDefinition<_lookaside_v1_BackendStatus, _lookaside_v1_BackendStatus__Output>
      ListBackendsRequest: MessageTypeDefinition<_lookaside_v1_ListBackendsRequest, _lookaside_v1_ListBackendsRequest__Output>
      ListBackendsResponse: MessageTypeDefinition<_lookaside_v1_ListBackendsResponse, _lookaside_v1_ListBackendsResponse__Output>
      ListServicesRequest: MessageTypeDefinition<_lookaside_v1_ListServicesRequest, _lookaside_v1_ListServicesRequest__Output>
      ListServicesResponse: MessageTypeDefinition<_lookaside_v1_ListServicesResponse, _lookaside_v1_ListServicesResponse__Output>
      Load: MessageTypeDefinition<_lookaside_v1_Load, _lookaside_v1_Load__Output>
      Registry: SubtypeConstructor<typeof grpc.Client, _lookaside_v1_RegistryClient> & { service: _lookaside_v1_RegistryDefinition }
      ServiceSummary: MessageTypeDefinition<_lookaside_v1_ServiceSummary, _lookaside_v1_ServiceSummary__Output>
      ServingState: EnumTypeDefinition
    }
  }
}

