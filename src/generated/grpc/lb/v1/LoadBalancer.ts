// Original file: protos/grpc/lb/v1/load_balancer.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { LoadBalanceRequest as _grpc_lb_v1_LoadBalanceRequest, LoadBalanceRequest__Output as _grpc_lb_v1_LoadBalanceRequest__Output } from '../../../grpc/lb/v1/LoadBalanceRequest.js';
import type { LoadBalanceResponse as _grpc_lb_v1_LoadBalanceResponse, LoadBalanceResponse__Output as _grpc_lb_v1_LoadBalanceResponse__Output } from '../../../grpc/lb/v1/LoadBalanceResponse.js';

export interface LoadBalancerClient extends grpc.Client {
  BalanceLoad(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_grpc_lb_v1_LoadBalanceRequest, _grpc_lb_v1_LoadBalanceResponse__Output>;
  BalanceLoad(options?: grpc.CallOptions): grpc.ClientDuplexStream<_grpc_lb_v1_LoadBalanceRequest, _grpc_lb_v1_LoadBalanceResponse__Output>;
  balanceLoad(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_grpc_lb_v1_LoadBalanceRequest, _grpc_lb_v1_LoadBalanceResponse__Output>;
  balanceLoad(options?: grpc.CallOptions): grpc.ClientDuplexStream<_grpc_lb_v1_LoadBalanceRequest, _grpc_lb_v1_LoadBalanceResponse__Output>;
  
}

export interface LoadBalancerHandlers extends grpc.UntypedServiceImplementation {
  BalanceLoad: grpc.handleBidiStreamingCall<_grpc_lb_v1_LoadBalanceRequest__Output, _grpc_lb_v1_LoadBalanceResponse>;
  
}

export interface LoadBalancerDefinition extends grpc.ServiceDefinition {
  BalanceLoad: MethodDefinition<_grpc_lb_v1_LoadBalanceRequest, _grpc_lb_v1_LoadBalanceResponse, _grpc_lb_v1_LoadBalanceRequest__Output, _grpc_lb_v1_LoadBalanceResponse__Output>
}
