import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { LookasideConfig } from '../config/config.js';
import type { Assignment } from '../generated/lookaside/v1/Assignment.js';
import type { WatchRequest__Output } from '../generated/lookaside/v1/WatchRequest.js';
import { durationOf } from '../common/duration.js';
import { Encoded } from '../common/encoded.js';
import { FieldError } from '../common/grpc-errors.js';
import { checkServiceName, checkZone } from '../registry/validation.js';
import { perAssignment, serveAssignmentStream, type AssignmentStreamDependencies } from './assignment-stream.js';
import type { ServiceAssignment } from '../policy/policy.js';
import type { ClientStatsService } from './client-stats.service.js';

export type AssignmentRenderer = (assignment: ServiceAssignment, clientZone: string) => Encoded<Assignment>;

/**
 * The Assignment message of each assignment for clients in each zone (the global one for
 * clients in a zone the assignment has no weights for), built and encoded once and shared by
 * every stream that gets it.
 */
export function assignmentRenderer(config: LookasideConfig): AssignmentRenderer {
  const clientStatsInterval = durationOf(config.clientStatsIntervalMs);
  const build = (a: ServiceAssignment, weights: number[] | undefined) =>
    new Encoded<Assignment>({
      service: a.service,
      version: a.version,
      backends: a.backends.flatMap((b, i) => {
        const weight = weights ? weights[i] : b.weight;
        if (weight === 0) return [];
        return [{ host: b.host, port: b.port, weight, loadBalanceToken: b.token, zone: b.zone, state: b.state, labels: b.labels }];
      }),
      fallback: a.backends.length === 0,
      dropPpm: a.dropPpm,
      clientStatsInterval,
    });
  const perZone = perAssignment((a) => new Map<string, Encoded<Assignment>>([['', build(a, undefined)]]));
  return (assignment, clientZone) => {
    const messages = perZone(assignment);
    const zone = assignment.zones[clientZone] ? clientZone : '';
    let message = messages.get(zone);
    if (!message) messages.set(zone, (message = build(assignment, assignment.zones[zone])));
    return message;
  };
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
    render: (assignment) => message(assignment, clientZone),
    // Version 0: nothing is known of the service yet (the SDK keeps what it has).
    unknownService: (service) => ({ service, version: 0, backends: [], fallback: true, dropPpm: 0, clientStatsInterval }),
    followUp(request, current) {
      if (request.kind !== 'clientLoad') throw new FieldError('kind', 'set start or client_load');
      clientStats.addClientLoad(current, request.clientLoad!, clientZone);
    },
  });
}
