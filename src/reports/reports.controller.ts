import { Controller, Inject } from '@nestjs/common';
import { GrpcStreamCall } from '@nestjs/microservices';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { LOOKASIDE_CONFIG, type LookasideConfig } from '../config/config.js';
import type { ReportRequest__Output } from '../generated/lookaside/v1/ReportRequest.js';
import type { ReportResponse } from '../generated/lookaside/v1/ReportResponse.js';
import { MetricsService } from '../common/metrics.service.js';
import { AuthService } from '../auth/auth.service.js';
import { RegistryService } from '../registry/registry.service.js';
import { ConnectionLimits } from './connection-limits.js';
import { serveReportStream, type ReportDependencies } from './report-session.js';

@Controller()
export class ReportsController {
  private readonly deps: ReportDependencies;

  constructor(
    registry: RegistryService,
    @Inject(LOOKASIDE_CONFIG) config: LookasideConfig,
    metrics: MetricsService,
    auth: AuthService,
    limits: ConnectionLimits,
  ) {
    this.deps = { registry, config, metrics, auth, limits };
  }

  @GrpcStreamCall('Reports', 'Report')
  report(call: ServerDuplexStream<ReportRequest__Output, ReportResponse>): void {
    serveReportStream(call, this.deps);
  }
}
