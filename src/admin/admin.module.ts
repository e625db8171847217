import { Module } from '@nestjs/common';
import { KubernetesModule } from '../kubernetes/kubernetes.module.js';
import { AdminController } from './admin.controller.js';

@Module({ imports: [KubernetesModule], controllers: [AdminController] })
export class AdminModule {}
