import { Controller, Inject } from '@nestjs/common';
import { GrpcStreamCall } from '@nestjs/microservices';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { LOOKASIDE_CONFIG, type LookasideConfig } from '../config/config.js';
import type { LoadBalanceRequest__Output } from '../generated/grpc/lb/v1/LoadBalanceRequest.js';
import type { LoadBalanceResponse } from '../generated/grpc/lb/v1/LoadBalanceResponse.js';
import type { Assignment } from '../generated/lookaside/v1/Assignment.js';
import type { WatchRequest__Output } from '../generated/lookaside/v1/WatchRequest.js';
import { MetricsService } from '../common/metrics.service.js';
import { AuthService } from '../auth/auth.service.js';
import type { AssignmentStreamDependencies } from './assignment-stream.js';
import { AssignmentService } from './assignment.service.js';
import { AssignmentViews } from './assignment-views.js';
import { SubsetSlots } from '../policy/subset.js';
import { ClientStatsService } from './client-stats.service.js';
import { serveBalanceLoad, serverListRenderer, type ServerListRenderer } from './grpclb-session.js';
import { assignmentRenderer, serveWatch, type AssignmentRenderer } from './watch-session.js';

/** The two assignment APIs over one policy: grpc.lb.v1 for any gRPC client, lookaside.v1 for the SDK. */
@Controller()
export class BalancerController {
  private readonly serverList: ServerListRenderer;
  private readonly assignment: AssignmentRenderer;
  private readonly deps: AssignmentStreamDependencies;

  constructor(
    assignments: AssignmentService,
    private readonly clientStats: ClientStatsService,
    @Inject(LOOKASIDE_CONFIG) private readonly config: LookasideConfig,
    metrics: MetricsService,
    auth: AuthService,
  ) {
    this.serverList = serverListRenderer(config);
    this.assignment = assignmentRenderer(config);
    this.deps = { assignments, metrics, auth, views: new AssignmentViews(config.subsetSize), slots: new SubsetSlots() };
  }

  @GrpcStreamCall('LoadBalancer', 'BalanceLoad')
  balanceLoad(call: ServerDuplexStream<LoadBalanceRequest__Output, LoadBalanceResponse>): void {
    serveBalanceLoad(call, this.deps, this.clientStats, this.config, this.serverList);
  }

  @GrpcStreamCall('Assignments', 'Watch')
  watch(call: ServerDuplexStream<WatchRequest__Output, Assignment>): void {
    serveWatch(call, this.deps, this.clientStats, this.config, this.assignment);
  }
}
