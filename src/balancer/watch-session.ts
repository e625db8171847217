import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { LookasideConfig } from '../config/config.js';
import type { Assignment } from '../generated/lookaside/v1/Assignment.js';
import type { WatchRequest__Output } from '../generated/lookaside/v1/WatchRequest.js';
import { durationOf } from '../common/duration.js';
import { Encoded } from '../common/encoded.js';
import { FieldError } from '../common/grpc-errors.js';
import { checkServiceName, checkZone } from '../registry/validation.js';
import { oncePer } from '../common/once-per.js';
import { serveAssignmentStream, type AssignmentStreamDependencies } from './assignment-stream.js';
import type { ServiceAssignment } from '../policy/policy.js';
import type { ClientStatsService } from './client-stats.service.js';

export type AssignmentRenderer = (assignment: ServiceAssignment) => Encoded<Assignment>;

/** The Assignment message of each assignment (or view of one), built and encoded once and shared by every stream. */
export function assignmentRenderer(config: LookasideConfig): AssignmentRenderer {
  const clientStatsInterval = durationOf(config.clientStatsIntervalMs);
  return oncePer(
    (a) =>
      new Encoded<Assignment>({
        service: a.service,
        version: a.version,
        backends: a.backends.map((b) => ({
          host: b.host,
          port: b.port,
          weight: b.weight,
          loadBalanceToken: b.token,
          zone: b.zone,
          state: b.state,
          labels: b.labels,
        })),
        fallback: a.backends.length === 0,
        dropPpm: a.dropPpm,
        clientStatsInterval,
      }),
  );
}

/** lookaside.v1 Watch: the SDK's stream; an Assignment at once and on every change. */
export function serveWatch(
  call: ServerDuplexStream<WatchRequest__Output, Assignment>,
  deps: AssignmentStreamDependencies,
  clientStats: ClientStatsService,
  config: LookasideConfig,
  message: AssignmentRenderer,
): void {
  const clientStatsInterval = durationOf(config.clientStatsIntervalMs);
  let clientZone = '';
  serveAssignmentStream(call, deps, {
    api: 'watch',
    firstField: 'start',
    serviceField: 'start.service',
    serviceOf(request) {
      if (request.kind !== 'start') return undefined;
      const zone = checkZone('start.client_zone', request.start!.clientZone, config.limits);
      const service = checkServiceName('start.service', request.start!.service, config.limits);
      clientZone = zone;
      return service;
    },
    greeting: () => undefined,
    // This client's view: its zone's weights, its subset.
    render: (assignment, slot) => message(deps.views.view(assignment, clientZone, slot)),
    // Version 0: nothing is known of the service yet (the SDK keeps what it has).
    unknownService: (service) => ({ service, version: 0, backends: [], fallback: true, dropPpm: 0, clientStatsInterval }),
    followUp(request, current) {
      if (request.kind !== 'clientLoad') throw new FieldError('kind', 'set start or client_load');
      clientStats.addClientLoad(current, request.clientLoad!, clientZone);
    },
  });
}
