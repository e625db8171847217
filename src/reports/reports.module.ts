import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { RegistryModule } from '../registry/registry.module.js';
import { ConnectionLimits } from './connection-limits.js';
import { ReportsController } from './reports.controller.js';

@Module({
  imports: [RegistryModule, AuthModule],
  controllers: [ReportsController],
  providers: [ConnectionLimits],
})
export class ReportsModule {}
