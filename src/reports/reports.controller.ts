import { Controller, Inject } from '@nestjs/common';
import { GrpcStreamCall } from '@nestjs/microservices';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { LOOKASIDE_CONFIG, type LookasideConfig } from '../config/config.js';
import type { ReportRequest__Output } from '../generated/lookaside/v1/ReportRequest.js';
import type { ReportResponse } from '../generated/lookaside/v1/ReportResponse.js';
import { MetricsService } from '../common/metrics.service.js';
import { RegistryService } from '../registry/registry.service.js';
import { serveReportStream } from './report-session.js';

@Controller()
export class ReportsController {
  constructor(
    private readonly registry: RegistryService,
    @Inject(LOOKASIDE_CONFIG) private readonly config: LookasideConfig,
    private readonly metrics: MetricsService,
  ) {}

  @GrpcStreamCall('Reports', 'Report')
  report(call: ServerDuplexStream<ReportRequest__Output, ReportResponse>): void {
    serveReportStream(call, this.registry, this.config, this.metrics);
  }
}
