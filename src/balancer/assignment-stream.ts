import type { ServerDuplexStream } from '@grpc/grpc-js';
import { FieldError, isBadInput } from '../common/grpc-errors.js';
import type { MetricsService } from '../common/metrics.service.js';
import { serveStream } from '../common/stream-session.js';
import type { Encoded } from '../common/encoded.js';
import type { AuthService, Caller } from '../auth/auth.service.js';
import type { ServiceAssignment } from '../policy/policy.js';
import type { AssignmentService } from './assignment.service.js';
import type { AssignmentViews } from './assignment-views.js';
import type { SubsetSlots } from '../policy/subset.js';

/** What every assignment stream needs from the app. */
export interface AssignmentStreamDependencies {
  assignments: AssignmentService;
  metrics: MetricsService;
  auth: AuthService;
  views: AssignmentViews;
  /** Client numbers for subsetting, per service on this replica. */
  slots: SubsetSlots;
}

/** What differs between the grpclb and the lookaside.v1 assignment streams. */
export interface AssignmentProtocol<Req, Res> {
  api: 'balance_load' | 'watch';
  /** The first message's field, for errors ("initial_request", "start"). */
  firstField: string;
  /** The field naming the service, for refusals ("initial_request.name", "start.service"). */
  serviceField: string;
  /** The checked service name if `request` is a first message, else undefined. */
  serviceOf(request: Req): string | undefined;
  /** Sent once the service is known, before anything else. */
  greeting(service: string): Res | undefined;
  /**
   * What to send for an assignment (shared by streams: Encoded); undefined when this client has
   * nothing new to learn. `slot`: the client's number for subsetting, when subsetting is on.
   */
  render(assignment: ServiceAssignment, slot: number | undefined): Res | Encoded<Res> | undefined;
  /** Sent when the service has no assignment yet. */
  unknownService(service: string): Res;
  /** Any later message (client stats), given the assignment the client has. */
  followUp(request: Req, current: ServiceAssignment | undefined): void;
}

/**
 * A client stream that names a service in its first message and then gets the service's
 * assignment at once and on every change; shared by BalanceLoad and Watch.
 */
export function serveAssignmentStream<Req, Res>(
  call: ServerDuplexStream<Req, Res>,
  deps: AssignmentStreamDependencies,
  protocol: AssignmentProtocol<Req, Res>,
): void {
  const { assignments, metrics, auth } = deps;
  const { api } = protocol;
  let service: string | undefined;
  let caller: Caller | undefined;
  let unwatch: (() => void) | undefined;
  let current: ServiceAssignment | undefined;
  let slot: { index: number; release(): void } | undefined;
  let closed = false;
  metrics.streams.inc({ api });

  // A token revoked or narrowed while the stream is open ends it.
  const stopWatchingTokens = auth.onTokensChanged(() => {
    if (!caller || !service) return;
    try {
      auth.authorizeRead(caller, api, protocol.serviceField, service);
    } catch (error) {
      stream.abort(error);
    }
  });

  // The labelled child once per stream: a push to thousands of streams skips the label lookup.
  const pushed = metrics.assignmentsPushed.labels({ api });
  const push = (assignment: ServiceAssignment) => {
    current = assignment;
    const message = protocol.render(assignment, slot?.index);
    if (message === undefined) return;
    // The method's serializer takes an Encoded too (acceptEncoded in app.ts).
    call.write(message as Res);
    pushed.inc();
  };

  const stream = serveStream(call, {
    async message(request) {
      const named = protocol.serviceOf(request);
      if (named !== undefined) {
        if (service) throw new FieldError(protocol.firstField, 'is sent once, as the first message');
        caller = await auth.authenticate(call.metadata, api);
        auth.authorizeRead(caller, api, protocol.serviceField, named);
        service = named;
        if (deps.views.subsetSize > 0) slot = deps.slots.claim(service);
        const greeting = protocol.greeting(service);
        if (greeting !== undefined) call.write(greeting);
        const stop = await assignments.watch(service, push);
        if (closed) stop();
        else unwatch = stop;
        if (!current) call.write(protocol.unknownService(service));
        return;
      }
      if (!service) throw new FieldError(protocol.firstField, 'must be the first message of the stream');
      protocol.followUp(request, current);
    },
    end() {},
    closed() {
      closed = true;
      unwatch?.();
      slot?.release();
      stopWatchingTokens();
      metrics.streams.dec({ api });
    },
    rejected(error) {
      if (isBadInput(error)) metrics.rejectedInputs.inc({ api });
    },
  });
}
