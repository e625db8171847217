import { Controller } from '@nestjs/common';
import { GrpcMethod, RpcException } from '@nestjs/microservices';
import type { ListBackendsRequest__Output } from '../generated/lookaside/v1/ListBackendsRequest.js';
import type { ListBackendsResponse } from '../generated/lookaside/v1/ListBackendsResponse.js';
import type { ListServicesResponse } from '../generated/lookaside/v1/ListServicesResponse.js';
import { FieldError } from '../common/grpc-errors.js';
import { RegistryService } from './registry.service.js';

/** Read-only queries over the shared state. */
@Controller()
export class RegistryController {
  constructor(private readonly registry: RegistryService) {}

  @GrpcMethod('Registry', 'ListServices')
  async listServices(): Promise<ListServicesResponse> {
    return { services: await this.registry.listServices() };
  }

  @GrpcMethod('Registry', 'ListBackends')
  async listBackends(request: ListBackendsRequest__Output): Promise<ListBackendsResponse> {
    try {
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
      if (error instanceof FieldError) throw new RpcException({ code: error.code, message: error.message });
      throw error;
    }
  }
}
