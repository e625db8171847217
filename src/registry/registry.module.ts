import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { KubernetesModule } from '../kubernetes/kubernetes.module.js';
import { ClusterSyncService } from './cluster-sync.service.js';
import { RegistryController } from './registry.controller.js';
import { RegistryService } from './registry.service.js';

@Module({
  imports: [KubernetesModule, AuthModule],
  controllers: [RegistryController],
  providers: [RegistryService, ClusterSyncService],
  exports: [RegistryService],
})
export class RegistryModule {}
