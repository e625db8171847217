// Original file: protos/grpc/lb/v1/load_balancer.proto

import type { Server as _grpc_lb_v1_Server, Server__Output as _grpc_lb_v1_Server__Output } from '../../../grpc/lb/v1/Server.js';

export interface ServerList {
  'servers'?: (_grpc_lb_v1_Server)[];
}

export interface ServerList__Output {
  'servers': (_grpc_lb_v1_Server__Output)[];
}
