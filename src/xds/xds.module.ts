import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { BalancerModule } from '../balancer/balancer.module.js';
import { XdsController } from './xds.controller.js';

@Module({
  imports: [AuthModule, BalancerModule],
  controllers: [XdsController],
})
export class XdsModule {}
