import { Controller, Inject, Logger } from '@nestjs/common';
import { GrpcStreamCall } from '@nestjs/microservices';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { LOOKASIDE_CONFIG, type LookasideConfig } from '../config/config.js';
import type { DiscoveryRequest__Output } from '../generated/envoy/service/discovery/v3/DiscoveryRequest.js';
import type { DiscoveryResponse } from '../generated/envoy/service/discovery/v3/DiscoveryResponse.js';
import type { LoadStatsRequest__Output } from '../generated/envoy/service/load_stats/v3/LoadStatsRequest.js';
import type { LoadStatsResponse } from '../generated/envoy/service/load_stats/v3/LoadStatsResponse.js';
import { MetricsService } from '../common/metrics.service.js';
import { AuthService } from '../auth/auth.service.js';
import { AssignmentService } from '../balancer/assignment.service.js';
import { ClientStatsService } from '../balancer/client-stats.service.js';
import { serveAggregatedResources, type AdsDependencies } from './ads-session.js';
import { serveLoadStats, type LrsDependencies } from './lrs-session.js';
import { XdsResources } from './resources.js';
import { AssignmentViews } from '../balancer/assignment-views.js';
import { SubsetSlots } from '../policy/subset.js';

/** xDS for proxyless gRPC clients: ADS (LDS, RDS, CDS, EDS) and LRS, over the same policy. */
@Controller()
export class XdsController {
  private readonly ads: AdsDependencies;
  private readonly lrs: LrsDependencies;

  constructor(
    assignments: AssignmentService,
    clientStats: ClientStatsService,
    @Inject(LOOKASIDE_CONFIG) config: LookasideConfig,
    metrics: MetricsService,
    auth: AuthService,
  ) {
    const resources = new XdsResources(config.clientStatsIntervalMs > 0);
    const views = new AssignmentViews(config.subsetSize);
    this.ads = { assignments, metrics, auth, resources, config, log: new Logger('xDS'), views, slots: new SubsetSlots() };
    this.lrs = { assignments, clientStats, metrics, auth, config };
  }

  @GrpcStreamCall('AggregatedDiscoveryService', 'StreamAggregatedResources')
  streamAggregatedResources(call: ServerDuplexStream<DiscoveryRequest__Output, DiscoveryResponse>): void {
    serveAggregatedResources(call, this.ads);
  }

  @GrpcStreamCall('LoadReportingService', 'StreamLoadStats')
  streamLoadStats(call: ServerDuplexStream<LoadStatsRequest__Output, LoadStatsResponse>): void {
    serveLoadStats(call, this.lrs);
  }
}
