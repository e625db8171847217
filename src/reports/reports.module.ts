import { Module } from '@nestjs/common';
import { RegistryModule } from '../registry/registry.module.js';
import { ReportsController } from './reports.controller.js';

@Module({
  imports: [RegistryModule],
  controllers: [ReportsController],
})
export class ReportsModule {}
