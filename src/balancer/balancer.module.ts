import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { AssignmentService } from './assignment.service.js';
import { BalancerController } from './balancer.controller.js';
import { ClientStatsService } from './client-stats.service.js';

@Module({
  imports: [AuthModule],
  controllers: [BalancerController],
  providers: [AssignmentService, ClientStatsService],
  exports: [AssignmentService, ClientStatsService],
})
export class BalancerModule {}
