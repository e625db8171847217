import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { LookasideConfig } from '../config/config.js';
import type { Assignment } from '../generated/lookaside/v1/Assignment.js';
import type { WatchRequest__Output } from '../generated/lookaside/v1/WatchRequest.js';
import { durationOf } from '../common/duration.js';
import { FieldError } from '../common/grpc-errors.js';
import type { MetricsService } from '../common/metrics.service.js';
import { serveStream } from '../common/stream-session.js';
import type { ServiceAssignment } from '../policy/policy.js';
import { checkServiceName, checkZone } from '../registry/validation.js';
import type { AssignmentService } from './assignment.service.js';
import type { ClientStatsService } from './client-stats.service.js';

const messages = new WeakMap<ServiceAssignment, Assignment>();

function messageFor(assignment: ServiceAssignment, config: LookasideConfig): Assignment {
  let message = messages.get(assignment);
  if (!message) {
    message = {
      service: assignment.service,
      version: assignment.version,
      backends: assignment.backends.map((b) => ({
        host: b.host,
        port: b.port,
        weight: b.weight,
        loadBalanceToken: b.token,
        zone: b.zone,
        state: b.state,
        labels: b.labels,
      })),
      fallback: assignment.backends.length === 0,
      dropPpm: assignment.dropPpm,
      clientStatsInterval: durationOf(config.clientStatsIntervalMs),
    };
    messages.set(assignment, message);
  }
  return message;
}

/** lookaside.v1 Watch: the SDK's stream; an Assignment at once and on every change. */
export function serveWatch(
  call: ServerDuplexStream<WatchRequest__Output, Assignment>,
  assignments: AssignmentService,
  clientStats: ClientStatsService,
  config: LookasideConfig,
  metrics: MetricsService,
): void {
  let service: string | undefined;
  let unwatch: (() => void) | undefined;
  let current: ServiceAssignment | undefined;
  let closed = false;
  metrics.gauge('watch_streams', 1);

  const push = (assignment: ServiceAssignment) => {
    current = assignment;
    call.write(messageFor(assignment, config));
    metrics.count('assignments_pushed');
  };

  serveStream(call, {
    async message(request) {
      if (request.kind === 'start') {
        if (service) throw new FieldError('start', 'is sent once, as the first message');
        service = checkServiceName('start.service', request.start!.service, config.limits);
        checkZone('start.client_zone', request.start!.clientZone, config.limits);
        const stop = await assignments.watch(service, push);
        if (closed) stop();
        else unwatch = stop;
        if (!current) {
          call.write({ service, version: 0, backends: [], fallback: true, dropPpm: 0, clientStatsInterval: durationOf(config.clientStatsIntervalMs) });
        }
        return;
      }
      if (!service) throw new FieldError('start', 'must be the first message of the stream');
      if (request.kind === 'clientLoad') {
        clientStats.addClientLoad(current, request.clientLoad!);
        return;
      }
      throw new FieldError('kind', 'set start or client_load');
    },
    end() {},
    closed() {
      closed = true;
      unwatch?.();
      metrics.gauge('watch_streams', -1);
    },
    rejected() {
      metrics.count('rejected_inputs');
    },
  });
}
