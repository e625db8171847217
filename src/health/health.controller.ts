import { Controller, Inject } from '@nestjs/common';
import { GrpcMethod, RpcException } from '@nestjs/microservices';
import { status } from '@grpc/grpc-js';
import { Observable } from 'rxjs';
import { LOOKASIDE_CONFIG, type LookasideConfig } from '../config/config.js';
import type { HealthCheckRequest__Output } from '../generated/grpc/health/v1/HealthCheckRequest.js';
import type { HealthCheckResponse } from '../generated/grpc/health/v1/HealthCheckResponse.js';
import { HealthService } from './health.service.js';

/** The services this port serves; "" is the server as a whole. All share one status. */
export const HEALTH_SERVICES = new Set([
  '',
  'grpc.health.v1.Health',
  'grpc.lb.v1.LoadBalancer',
  'lookaside.v1.Reports',
  'lookaside.v1.Assignments',
  'lookaside.v1.Registry',
]);

/** Longest service name accepted in a health request (fully qualified names are short). */
const MAX_SERVICE_NAME_BYTES = 256;

type Status = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

function checkedName(request: HealthCheckRequest__Output): string {
  if (Buffer.byteLength(request.service) > MAX_SERVICE_NAME_BYTES) {
    throw new RpcException({ code: status.INVALID_ARGUMENT, message: `service: is over ${MAX_SERVICE_NAME_BYTES} bytes` });
  }
  return request.service;
}

/** grpc.health.v1 on the gRPC port, for grpc_health_probe, kubelet gRPC probes and balancers. */
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthService,
    @Inject(LOOKASIDE_CONFIG) private readonly config: LookasideConfig,
  ) {}

  @GrpcMethod('Health', 'Check')
  async check(request: HealthCheckRequest__Output): Promise<HealthCheckResponse> {
    const service = checkedName(request);
    if (!HEALTH_SERVICES.has(service)) throw new RpcException({ code: status.NOT_FOUND, message: `service: "${service}" is not served here` });
    return { status: (await this.health.check()).ready ? 'SERVING' : 'NOT_SERVING' };
  }

  /** The status at once, then on every change (re-checked every LOOKASIDE_HEALTH_CHECK_INTERVAL_MS). */
  @GrpcMethod('Health', 'Watch')
  watch(request: HealthCheckRequest__Output): Observable<HealthCheckResponse> {
    const service = checkedName(request);
    return new Observable<HealthCheckResponse>((subscriber) => {
      if (!HEALTH_SERVICES.has(service)) {
        subscriber.next({ status: 'SERVICE_UNKNOWN' });
        return;
      }
      let last: Status | undefined;
      let checking = false;
      const publish = (next: Status) => {
        if (next === last) return;
        last = next;
        subscriber.next({ status: next });
      };
      const poll = async () => {
        if (checking) return;
        checking = true;
        try {
          publish((await this.health.check()).ready ? 'SERVING' : 'NOT_SERVING');
        } finally {
          checking = false;
        }
      };
      void poll();
      const timer = setInterval(() => void poll(), this.config.healthCheckIntervalMs);
      const stopListening = this.health.onShutDown(() => publish('NOT_SERVING'));
      return () => {
        clearInterval(timer);
        stopListening();
      };
    });
  }
}
