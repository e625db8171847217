import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { LookasideConfig } from '../config/config.js';
import type { LoadBalanceRequest__Output } from '../generated/grpc/lb/v1/LoadBalanceRequest.js';
import type { LoadBalanceResponse } from '../generated/grpc/lb/v1/LoadBalanceResponse.js';
import { durationOf } from '../common/duration.js';
import { Encoded } from '../common/encoded.js';
import { FieldError } from '../common/grpc-errors.js';
import { serviceFromTarget } from '../registry/validation.js';
import { oncePer } from '../common/once-per.js';
import { serveAssignmentStream, type AssignmentStreamDependencies } from './assignment-stream.js';
import type { ServiceAssignment } from '../policy/policy.js';
import type { ClientStatsService } from './client-stats.service.js';
import { toServerList } from './server-list.js';

const FALLBACK: LoadBalanceResponse = { fallbackResponse: {} };

export type ServerListRenderer = (assignment: ServiceAssignment) => Encoded<LoadBalanceResponse>;

/** The ServerList message of each assignment, built and encoded once and shared by every stream. */
export function serverListRenderer(config: LookasideConfig): ServerListRenderer {
  return oncePer((a) => new Encoded<LoadBalanceResponse>({ serverList: { servers: toServerList(a, config.maxServerListEntries) } }));
}

/**
 * grpc.lb.v1 BalanceLoad: the initial response first, then a ServerList whenever the
 * assignment changes; a FallbackResponse while the service has no backend to assign (the
 * stream stays open and the list follows as soon as there is one).
 */
export function serveBalanceLoad(
  call: ServerDuplexStream<LoadBalanceRequest__Output, LoadBalanceResponse>,
  deps: AssignmentStreamDependencies,
  clientStats: ClientStatsService,
  config: LookasideConfig,
  serverList: ServerListRenderer,
): void {
  let fellBack = false;
  const fallBack = () => {
    if (fellBack) return undefined;
    fellBack = true;
    return FALLBACK;
  };
  serveAssignmentStream(call, deps, {
    api: 'balance_load',
    firstField: 'initial_request',
    serviceField: 'initial_request.name',
    serviceOf: (request) =>
      request.loadBalanceRequestType === 'initialRequest'
        ? serviceFromTarget('initial_request.name', request.initialRequest!.name, config.limits)
        : undefined,
    greeting: () => ({ initialResponse: { clientStatsReportInterval: durationOf(config.clientStatsIntervalMs) } }),
    render(assignment, slot) {
      if (assignment.backends.length === 0) return fallBack();
      fellBack = false;
      // grpclb clients name no zone: the global weights, and the client's subset.
      return serverList(deps.views.view(assignment, '', slot));
    },
    unknownService: () => {
      fellBack = true;
      return FALLBACK;
    },
    followUp(request, current) {
      if (request.loadBalanceRequestType !== 'clientStats') {
        throw new FieldError('load_balance_request_type', 'set initial_request or client_stats');
      }
      clientStats.addGrpclb(current, request.clientStats!);
    },
  });
}
