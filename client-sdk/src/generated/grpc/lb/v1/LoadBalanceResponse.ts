// Original file: protos/grpc/lb/v1/load_balancer.proto

import type { InitialLoadBalanceResponse as _grpc_lb_v1_InitialLoadBalanceResponse, InitialLoadBalanceResponse__Output as _grpc_lb_v1_InitialLoadBalanceResponse__Output } from '../../../grpc/lb/v1/InitialLoadBalanceResponse.js';
import type { ServerList as _grpc_lb_v1_ServerList, ServerList__Output as _grpc_lb_v1_ServerList__Output } from '../../../grpc/lb/v1/ServerList.js';
import type { FallbackResponse as _grpc_lb_v1_FallbackResponse, FallbackResponse__Output as _grpc_lb_v1_FallbackResponse__Output } from '../../../grpc/lb/v1/FallbackResponse.js';

export interface LoadBalanceResponse {
  'initialResponse'?: (_grpc_lb_v1_InitialLoadBalanceResponse | null);
  'serverList'?: (_grpc_lb_v1_ServerList | null);
  'fallbackResponse'?: (_grpc_lb_v1_FallbackResponse | null);
  'loadBalanceResponseType'?: "initialResponse"|"serverList"|"fallbackResponse";
}

export interface LoadBalanceResponse__Output {
  'initialResponse'?: (_grpc_lb_v1_InitialLoadBalanceResponse__Output | null);
  'serverList'?: (_grpc_lb_v1_ServerList__Output | null);
  'fallbackResponse'?: (_grpc_lb_v1_FallbackResponse__Output | null);
  'loadBalanceResponseType'?: "initialResponse"|"serverList"|"fallbackResponse";
}
