import { Module } from '@nestjs/common';
import { KubernetesModule } from '../kubernetes/kubernetes.module.js';
import { HealthController } from './health.controller.js';
import { HealthService } from './health.service.js';

/** Readiness, for GET /readyz and grpc.health.v1. */
@Module({
  imports: [KubernetesModule],
  controllers: [HealthController],
  providers: [HealthService],
  exports: [HealthService],
})
export class HealthModule {}
