import { Controller } from '@nestjs/common';
import { GrpcMethod, RpcException } from '@nestjs/microservices';
import type { Metadata } from '@grpc/grpc-js';
import type { ListBackendsRequest__Output } from '../generated/lookaside/v1/ListBackendsRequest.js';
import type { ListBackendsResponse } from '../generated/lookaside/v1/ListBackendsResponse.js';
import type { ListServicesResponse } from '../generated/lookaside/v1/ListServicesResponse.js';
import { FieldError } from '../common/grpc-errors.js';
import { AuthService } from '../auth/auth.service.js';
import { RegistryService } from './registry.service.js';

function rpcError(error: unknown): unknown {
  return error instanceof FieldError ? new RpcException({ code: error.code, message: error.message }) : error;
}

/** Read-only queries over the shared state; with "registry" among the authenticated readers, only what the caller may read. */
@Controller()
export class RegistryController {
  constructor(
    private readonly registry: RegistryService,
    private readonly auth: AuthService,
  ) {}

  @GrpcMethod('Registry', 'ListServices')
  async listServices(_request: unknown, metadata: Metadata): Promise<ListServicesResponse> {
    try {
      const caller = await this.auth.authenticate(metadata, 'registry');
      const services = await this.registry.listServices();
      const readable = new Set(this.auth.readable(caller, services.map((s) => s.name)));
      return { services: services.filter((s) => readable.has(s.name)) };
    } catch (error) {
      throw rpcError(error);
    }
  }

  @GrpcMethod('Registry', 'ListBackends')
  async listBackends(request: ListBackendsRequest__Output, metadata: Metadata): Promise<ListBackendsResponse> {
    try {
      const caller = await this.auth.authenticate(metadata, 'registry');
      this.auth.authorizeRead(caller, 'registry', 'service', request.service);
      const { backends, version, weights } = await this.registry.describe(request.service);
      return {
        service: request.service,
        version,
        backends: backends.map((b) => ({
          backendId: b.id,
          host: b.host,
          port: b.port,
          zone: b.zone,
          labels: b.labels,
          state: b.state,
          load: b.load,
          loadBalanceToken: b.token,
          lastReportUnixMs: b.lastReportMs,
          weight: weights.get(b.id) ?? 0,
        })),
      };
    } catch (error) {
      throw rpcError(error);
    }
  }
}
