import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { HealthModule } from '../health/health.module.js';
import { AdminAccess } from './admin-access.js';
import { AdminController } from './admin.controller.js';
import { FleetService } from './fleet.service.js';

@Module({
  imports: [AuthModule, HealthModule],
  controllers: [AdminController],
  providers: [FleetService, AdminAccess],
})
export class AdminModule {}
