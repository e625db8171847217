import type { Logger } from '@nestjs/common';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { LookasideConfig } from '../config/config.js';
import type { DiscoveryRequest__Output } from '../generated/envoy/service/discovery/v3/DiscoveryRequest.js';
import type { DiscoveryResponse } from '../generated/envoy/service/discovery/v3/DiscoveryResponse.js';
import type { Any } from '../generated/google/protobuf/Any.js';
import { FieldError, isBadInput } from '../common/grpc-errors.js';
import type { MetricsService } from '../common/metrics.service.js';
import { serveStream } from '../common/stream-session.js';
import { Encoded, Spliced } from '../common/encoded.js';
import { oncePer } from '../common/once-per.js';
import type { AuthService, Caller } from '../auth/auth.service.js';
import type { AssignmentService } from '../balancer/assignment.service.js';
import type { ServiceAssignment } from '../policy/policy.js';
import { checkServiceName, checkZone } from '../registry/validation.js';
import type { AssignmentViews } from '../balancer/assignment-views.js';
import type { SubsetSlots } from '../policy/subset.js';
import { ENDPOINT_TYPE, RESOURCE_TYPES, type XdsResources } from './resources.js';

/** Names the control plane in every response (DiscoveryResponse.control_plane). */
export const CONTROL_PLANE_ID = 'lookaside';
/** Longest client-sent text (node id, NACK message) copied into a log line. */
const MAX_LOGGED_CHARS = 200;

export interface AdsDependencies {
  assignments: AssignmentService;
  metrics: MetricsService;
  auth: AuthService;
  resources: XdsResources;
  config: LookasideConfig;
  log: Logger;
  views: AssignmentViews;
  slots: SubsetSlots;
}

/** What the stream has agreed with the client about one resource type. */
interface Subscription {
  names: string[];
  /** Of `names`, the valid service names the caller may read: what responses hold. */
  served: string[];
  /** Nonce of the latest response of this type; a request quoting another one is stale. */
  nonce: string;
  /** Version of the latest response. */
  version: number;
}

/**
 * The shared part (resource, type, control plane) of EDS pushes that carry one resource, by
 * resource: the streams of a service get the same one (one per view) on every change.
 */
const sharedEndpointPart = oncePer(
  (resource: Any) => new Encoded<DiscoveryResponse>({ resources: [resource], typeUrl: ENDPOINT_TYPE, controlPlane: { identifier: CONTROL_PLANE_ID } }),
);

const clip = (text: string) => (text.length > MAX_LOGGED_CHARS ? `${text.slice(0, MAX_LOGGED_CHARS)}...` : text);

/**
 * One ADS stream (state of the world): the client subscribes per resource type with the names
 * it wants; each response holds every subscribed resource of its type that exists (EDS pushes:
 * those that changed). Requests
 * quoting the latest nonce of their type are ACKs (or NACKs, with error_detail); those quoting
 * an older one are stale and ignored, as the protocol asks. A name that is not a valid service
 * name, or that the caller may not read, is left out: the client's answer is "does not
 * exist", for that resource alone. EDS follows the assignment of every subscribed service,
 * pushed as AssignmentService coalesces it.
 */
export function serveAggregatedResources(
  call: ServerDuplexStream<DiscoveryRequest__Output, DiscoveryResponse>,
  deps: AdsDependencies,
): void {
  const { assignments, metrics, auth, resources, config, log, views, slots } = deps;
  const subscriptions = new Map<string, Subscription>();
  const watches = new Map<string, ServiceFollow>();
  let caller: Caller | undefined;
  let node = '';
  /** The client's zone (node.locality.zone): EDS carries that zone's weights. */
  let clientZone = '';
  let nonces = 0;
  let closed = false;
  /** Subscriptions being applied: EDS pushes wait for them (they answer with the latest). */
  let updating = 0;
  /** Services whose EDS changed since the last EDS response. */
  const changedEndpoints = new Set<string>();
  const pushed = metrics.assignmentsPushed.labels({ api: 'xds' });
  metrics.streams.inc({ api: 'xds' });

  /** The names a response may hold: valid service names the caller may read; the rest are counted when `count`. */
  const servable = (names: string[], count: boolean): string[] => {
    const valid = names.filter((name) => {
      try {
        checkServiceName('resource_names', name, config.limits);
        return true;
      } catch {
        if (count) metrics.xdsResourcesOmitted.inc({ reason: 'invalid' });
        return false;
      }
    });
    const allowed = caller ? auth.readable(caller, valid) : [];
    if (count && allowed.length < valid.length) {
      metrics.xdsResourcesOmitted.inc({ reason: 'denied' }, valid.length - allowed.length);
      log.warn(`xDS client ${clip(node)} may not read ${valid.filter((n) => !allowed.includes(n)).slice(0, 5).join(', ')}: left out`);
    }
    return allowed;
  };

  /** The resources of `typeUrl` for `services` (servable names only). */
  const render = (typeUrl: string, services: string[]): Any[] => {
    const kind = RESOURCE_TYPES.get(typeUrl);
    const out: Any[] = [];
    for (const service of services) {
      if (kind === 'listener') out.push(resources.listener(service));
      else if (kind === 'route') out.push(resources.route(service));
      else if (kind === 'cluster') out.push(resources.cluster(service));
      else if (kind === 'endpoint') {
        const watch = watches.get(service);
        // This client's view: its zone's weights, its subset.
        if (watch?.assignment) out.push(resources.endpoints(views.view(watch.assignment, clientZone, watch.slot?.index)));
      }
    }
    return out;
  };

  /** A response of `typeUrl` with every subscribed resource, or only `services`. */
  const respond = (typeUrl: string, subscription: Subscription, services = subscription.served) => {
    subscription.version += 1;
    subscription.nonce = String(++nonces);
    const own: DiscoveryResponse = { versionInfo: String(subscription.version), nonce: subscription.nonce };
    const rendered = render(typeUrl, services);
    if (typeUrl === ENDPOINT_TYPE && rendered.length === 1) {
      // A push of one service's endpoints: the same bytes for all its streams but these two fields.
      // The method's serializer takes a Spliced (acceptEncoded in app.ts).
      call.write(new Spliced(own, sharedEndpointPart(rendered[0])) as DiscoveryResponse);
    } else call.write({ ...own, resources: rendered, typeUrl, controlPlane: { identifier: CONTROL_PLANE_ID } });
    if (typeUrl === ENDPOINT_TYPE) pushed.inc();
  };

  // Clients keep EDS resources a response leaves out (unlike LDS and CDS), so a push carries
  // only the services that changed.
  const pushEndpoints = () => {
    if (closed || updating > 0 || changedEndpoints.size === 0) return;
    const changed = [...changedEndpoints].sort();
    changedEndpoints.clear();
    const subscription = subscriptions.get(ENDPOINT_TYPE);
    if (subscription) respond(ENDPOINT_TYPE, subscription, changed);
  };

  /** Watches the services of the EDS subscription, and only those. */
  const followEndpoints = async () => {
    const wanted = new Set(subscriptions.get(ENDPOINT_TYPE)?.served ?? []);
    for (const [service, watch] of watches) {
      if (wanted.has(service)) continue;
      watches.delete(service);
      watch.stop?.();
      watch.slot?.release();
    }
    const added = [...wanted].filter((service) => !watches.has(service));
    await Promise.all(
      added.map(async (service) => {
        const watch: ServiceFollow = { slot: views.subsetSize > 0 ? slots.claim(service) : undefined };
        watches.set(service, watch);
        const stop = await assignments.watch(service, (assignment) => {
          watch.assignment = assignment;
          changedEndpoints.add(service);
          queueMicrotask(pushEndpoints);
        });
        if (closed || watches.get(service) !== watch) {
          stop();
          watch.slot?.release();
        } else watch.stop = stop;
      }),
    );
  };

  const stopWatchingTokens = auth.onTokensChanged(() => {
    if (!caller || closed) return;
    try {
      auth.checkNotRevoked(caller, 'xds');
    } catch (error) {
      stream.abort(error);
      return;
    }
    // What the caller may read can have narrowed or widened: tell it the new state of every type.
    for (const subscription of subscriptions.values()) subscription.served = servable(subscription.names, false);
    void (async () => {
      updating += 1;
      try {
        await followEndpoints();
      } finally {
        updating -= 1;
      }
      if (closed) return;
      changedEndpoints.clear();
      for (const [typeUrl, subscription] of subscriptions) respond(typeUrl, subscription);
    })().catch((error: unknown) => stream.abort(error));
  });

  const stream = serveStream(call, {
    async message(request) {
      if (!caller) {
        caller = await auth.authenticate(call.metadata, 'xds');
        node = request.node?.id ?? '';
        clientZone = checkZone('node.locality.zone', request.node?.locality?.zone, config.limits);
      }
      const typeUrl = request.typeUrl;
      if (!typeUrl) throw new FieldError('type_url', 'is required: name the resource type to subscribe to');
      const names = request.resourceNames ?? [];
      if (names.length > config.limits.maxXdsResourceNames) {
        throw new FieldError('resource_names', `has ${names.length} names, at most ${config.limits.maxXdsResourceNames} (LOOKASIDE_MAX_XDS_RESOURCE_NAMES)`);
      }
      const kind = RESOURCE_TYPES.get(typeUrl) ?? 'unknown';
      const current = subscriptions.get(typeUrl);
      if (current && request.responseNonce !== '' && request.responseNonce !== current.nonce) return; // stale
      // A NACK: logged and counted, not resent (the same state would be rejected again).
      if (current && request.responseNonce === current.nonce && request.errorDetail) {
        metrics.xdsNacks.inc({ type: kind });
        log.warn(`xDS client ${clip(node)} rejected ${kind} version ${current.version}: ${clip(request.errorDetail.message ?? '')}`);
      }
      const unique = [...new Set(names)].sort();
      if (current && sameNames(current.names, unique)) return; // an ACK or NACK, nothing new to send
      const subscription = current ?? { names: [], served: [], nonce: '', version: 0 };
      subscription.names = unique;
      subscription.served = servable(unique, true);
      subscriptions.set(typeUrl, subscription);
      updating += 1;
      try {
        if (typeUrl === ENDPOINT_TYPE) await followEndpoints();
      } finally {
        updating -= 1;
      }
      if (closed) return;
      if (typeUrl === ENDPOINT_TYPE) changedEndpoints.clear();
      respond(typeUrl, subscription);
      pushEndpoints();
    },
    end() {},
    closed() {
      closed = true;
      for (const watch of watches.values()) {
        watch.stop?.();
        watch.slot?.release();
      }
      watches.clear();
      stopWatchingTokens();
      metrics.streams.dec({ api: 'xds' });
    },
    rejected(error) {
      if (isBadInput(error)) metrics.rejectedInputs.inc({ api: 'xds' });
    },
  });
}

/** One EDS service a stream follows. */
interface ServiceFollow {
  stop?: () => void;
  assignment?: ServiceAssignment;
  /** The client's number among the service's xDS clients here, for subsetting. */
  slot?: { index: number; release(): void };
}

function sameNames(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((name, i) => name === b[i]);
}
