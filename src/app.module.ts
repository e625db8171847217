import { Module, type DynamicModule } from '@nestjs/common';
import type { LookasideConfig } from './config/config.js';
import { AdminModule } from './admin/admin.module.js';
import { BalancerModule } from './balancer/balancer.module.js';
import { CommonModule } from './common/common.module.js';
import { RegistryModule } from './registry/registry.module.js';
import { ReportsModule } from './reports/reports.module.js';
import { StoreModule } from './store/store.module.js';
import { XdsModule } from './xds/xds.module.js';

@Module({})
export class AppModule {
  static forRoot(config: LookasideConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [CommonModule.forRoot(config), StoreModule, RegistryModule, ReportsModule, BalancerModule, XdsModule, AdminModule],
    };
  }
}
