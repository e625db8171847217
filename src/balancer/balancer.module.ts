import { Module } from '@nestjs/common';
import { AssignmentService } from './assignment.service.js';
import { BalancerController } from './balancer.controller.js';
import { ClientStatsService } from './client-stats.service.js';

@Module({
  controllers: [BalancerController],
  providers: [AssignmentService, ClientStatsService],
  exports: [AssignmentService],
})
export class BalancerModule {}
