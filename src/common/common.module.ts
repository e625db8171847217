import { Global, Module, type DynamicModule } from '@nestjs/common';
import { LOOKASIDE_CONFIG, type LookasideConfig } from '../config/config.js';
import { MetricsService } from './metrics.service.js';

/** The configuration and the metrics, available to every module. */
@Global()
@Module({})
export class CommonModule {
  static forRoot(config: LookasideConfig): DynamicModule {
    return {
      module: CommonModule,
      providers: [{ provide: LOOKASIDE_CONFIG, useValue: config }, MetricsService],
      exports: [LOOKASIDE_CONFIG, MetricsService],
    };
  }
}
