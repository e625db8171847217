import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { LookasideConfig } from '../config/config.js';
import type { LoadBalanceRequest__Output } from '../generated/grpc/lb/v1/LoadBalanceRequest.js';
import type { LoadBalanceResponse } from '../generated/grpc/lb/v1/LoadBalanceResponse.js';
import { durationOf } from '../common/duration.js';
import { FieldError } from '../common/grpc-errors.js';
import type { MetricsService } from '../common/metrics.service.js';
import { serveStream } from '../common/stream-session.js';
import type { ServiceAssignment } from '../policy/policy.js';
import { serviceFromTarget } from '../registry/validation.js';
import type { AssignmentService } from './assignment.service.js';
import type { ClientStatsService } from './client-stats.service.js';
import { toServerList } from './server-list.js';

const FALLBACK: LoadBalanceResponse = { fallbackResponse: {} };
/** One ServerList message per assignment, shared by every stream of the service. */
const serverLists = new WeakMap<ServiceAssignment, LoadBalanceResponse>();

function serverListFor(assignment: ServiceAssignment, maxEntries: number): LoadBalanceResponse {
  let response = serverLists.get(assignment);
  if (!response) {
    response = { serverList: { servers: toServerList(assignment, maxEntries) } };
    serverLists.set(assignment, response);
  }
  return response;
}

/**
 * grpc.lb.v1 BalanceLoad: the initial response first, then a ServerList whenever the
 * assignment changes; a FallbackResponse while the service has no backend to assign (the
 * stream stays open and the list follows as soon as there is one).
 */
export function serveBalanceLoad(
  call: ServerDuplexStream<LoadBalanceRequest__Output, LoadBalanceResponse>,
  assignments: AssignmentService,
  clientStats: ClientStatsService,
  config: LookasideConfig,
  metrics: MetricsService,
): void {
  let service: string | undefined;
  let unwatch: (() => void) | undefined;
  let current: ServiceAssignment | undefined;
  let sentFallback = false;
  let closed = false;
  metrics.gauge('balance_load_streams', 1);

  const push = (assignment: ServiceAssignment) => {
    current = assignment;
    if (assignment.backends.length === 0) {
      if (sentFallback) return;
      sentFallback = true;
      call.write(FALLBACK);
    } else {
      sentFallback = false;
      call.write(serverListFor(assignment, config.maxServerListEntries));
    }
    metrics.count('assignments_pushed');
  };

  serveStream(call, {
    async message(request) {
      if (request.loadBalanceRequestType === 'initialRequest') {
        if (service) throw new FieldError('initial_request', 'is sent once, as the first message');
        service = serviceFromTarget('initial_request.name', request.initialRequest!.name, config.limits);
        call.write({ initialResponse: { clientStatsReportInterval: durationOf(config.clientStatsIntervalMs) } });
        const stop = await assignments.watch(service, push);
        if (closed) stop();
        else unwatch = stop;
        // An unknown service has no assignment yet: tell the client to fall back meanwhile.
        if (!current && !sentFallback) {
          sentFallback = true;
          call.write(FALLBACK);
        }
        return;
      }
      if (!service) throw new FieldError('initial_request', 'must be the first message of the stream');
      if (request.loadBalanceRequestType === 'clientStats') {
        clientStats.addGrpclb(current, request.clientStats!);
        return;
      }
      throw new FieldError('load_balance_request_type', 'set initial_request or client_stats');
    },
    end() {},
    closed() {
      closed = true;
      unwatch?.();
      metrics.gauge('balance_load_streams', -1);
    },
    rejected() {
      metrics.count('rejected_inputs');
    },
  });
}
