// Original file: protos/lookaside/v1/registry.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ListBackendsRequest as _lookaside_v1_ListBackendsRequest, ListBackendsRequest__Output as _lookaside_v1_ListBackendsRequest__Output } from '../../lookaside/v1/ListBackendsRequest.js';
import type { ListBackendsResponse as _lookaside_v1_ListBackendsResponse, ListBackendsResponse__Output as _lookaside_v1_ListBackendsResponse__Output } from '../../lookaside/v1/ListBackendsResponse.js';
import type { ListServicesRequest as _lookaside_v1_ListServicesRequest, ListServicesRequest__Output as _lookaside_v1_ListServicesRequest__Output } from '../../lookaside/v1/ListServicesRequest.js';
import type { ListServicesResponse as _lookaside_v1_ListServicesResponse, ListServicesResponse__Output as _lookaside_v1_ListServicesResponse__Output } from '../../lookaside/v1/ListServicesResponse.js';

export interface RegistryClient extends grpc.Client {
  ListBackends(argument: _lookaside_v1_ListBackendsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_lookaside_v1_ListBackendsResponse__Output>): grpc.ClientUnaryCall;
  ListBackends(argument: _lookaside_v1_ListBackendsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_lookaside_v1_ListBackendsResponse__Output>): grpc.ClientUnaryCall;
  ListBackends(argument: _lookaside_v1_ListBackendsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_lookaside_v1_ListBackendsResponse__Output>): grpc.ClientUnaryCall;
  ListBackends(argument: _lookaside_v1_ListBackendsRequest, callback: grpc.requestCallback<_lookaside_v1_ListBackendsResponse__Output>): grpc.ClientUnaryCall;
  listBackends(argument: _lookaside_v1_ListBackendsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_lookaside_v1_ListBackendsResponse__Output>): grpc.ClientUnaryCall;
  listBackends(argument: _lookaside_v1_ListBackendsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_lookaside_v1_ListBackendsResponse__Output>): grpc.ClientUnaryCall;
  listBackends(argument: _lookaside_v1_ListBackendsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_lookaside_v1_ListBackendsResponse__Output>): grpc.ClientUnaryCall;
  listBackends(argument: _lookaside_v1_ListBackendsRequest, callback: grpc.requestCallback<_lookaside_v1_ListBackendsResponse__Output>): grpc.ClientUnaryCall;
  
  ListServices(argument: _lookaside_v1_ListServicesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_lookaside_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  ListServices(argument: _lookaside_v1_ListServicesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_lookaside_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  ListServices(argument: _lookaside_v1_ListServicesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_lookaside_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  ListServices(argument: _lookaside_v1_ListServicesRequest, callback: grpc.requestCallback<_lookaside_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  listServices(argument: _lookaside_v1_ListServicesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_lookaside_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  listServices(argument: _lookaside_v1_ListServicesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_lookaside_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  listServices(argument: _lookaside_v1_ListServicesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_lookaside_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  listServices(argument: _lookaside_v1_ListServicesRequest, callback: grpc.requestCallback<_lookaside_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface RegistryHandlers extends grpc.UntypedServiceImplementation {
  ListBackends: grpc.handleUnaryCall<_lookaside_v1_ListBackendsRequest__Output, _lookaside_v1_ListBackendsResponse>;
  
  ListServices: grpc.handleUnaryCall<_lookaside_v1_ListServicesRequest__Output, _lookaside_v1_ListServicesResponse>;
  
}

export interface RegistryDefinition extends grpc.ServiceDefinition {
  ListBackends: MethodDefinition<_lookaside_v1_ListBackendsRequest, _lookaside_v1_ListBackendsResponse, _lookaside_v1_ListBackendsRequest__Output, _lookaside_v1_ListBackendsResponse__Output>
  ListServices: MethodDefinition<_lookaside_v1_ListServicesRequest, _lookaside_v1_ListServicesResponse, _lookaside_v1_ListServicesRequest__Output, _lookaside_v1_ListServicesResponse__Output>
}
