import { Module } from '@nestjs/common';
import { KubernetesModule } from '../kubernetes/kubernetes.module.js';
import { AuthService } from './auth.service.js';

/** Who may report and read (see README "Security"); inert when LOOKASIDE_AUTH_MODE=off. */
@Module({
  imports: [KubernetesModule],
  providers: [AuthService],
  exports: [AuthService],
})
export class AuthModule {}
