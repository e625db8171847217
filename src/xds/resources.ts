import { join } from 'node:path';
import protobuf from 'protobufjs';
import { PROTO_DIR } from '../common/proto-dir.js';
import type { Any } from '../generated/google/protobuf/Any.js';
import type { Cluster } from '../generated/envoy/config/cluster/v3/Cluster.js';
import type { ClusterLoadAssignment } from '../generated/envoy/config/endpoint/v3/ClusterLoadAssignment.js';
import type { LocalityLbEndpoints } from '../generated/envoy/config/endpoint/v3/LocalityLbEndpoints.js';
import type { HttpConnectionManager } from '../generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager.js';
import type { Listener } from '../generated/envoy/config/listener/v3/Listener.js';
import type { RouteConfiguration } from '../generated/envoy/config/route/v3/RouteConfiguration.js';
import type { ServiceAssignment } from '../policy/policy.js';
import { oncePer } from '../common/once-per.js';

const TYPE_PREFIX = 'type.googleapis.com/';
export const LISTENER_TYPE = `${TYPE_PREFIX}envoy.config.listener.v3.Listener`;
export const ROUTE_TYPE = `${TYPE_PREFIX}envoy.config.route.v3.RouteConfiguration`;
export const CLUSTER_TYPE = `${TYPE_PREFIX}envoy.config.cluster.v3.Cluster`;
export const ENDPOINT_TYPE = `${TYPE_PREFIX}envoy.config.endpoint.v3.ClusterLoadAssignment`;
const HTTP_CONNECTION_MANAGER_TYPE = `${TYPE_PREFIX}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`;
const ROUTER_TYPE = `${TYPE_PREFIX}envoy.extensions.filters.http.router.v3.Router`;

/** The four resource types lookaside serves, by type URL, with the short name metrics and logs use. */
export const RESOURCE_TYPES: ReadonlyMap<string, 'listener' | 'route' | 'cluster' | 'endpoint'> = new Map([
  [LISTENER_TYPE, 'listener'],
  [ROUTE_TYPE, 'route'],
  [CLUSTER_TYPE, 'cluster'],
  [ENDPOINT_TYPE, 'endpoint'],
]);

/** The category clients count policy drops under in their load reports. */
export const DROP_CATEGORY = 'lookaside_load_shedding';

const ROOT_FILES = [
  'envoy/config/listener/v3/listener.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
];

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(PROTO_DIR, target);
  root.loadSync(ROOT_FILES).resolveAll();
  return root;
}

/**
 * The xDS resources of each service, encoded for DiscoveryResponse.resources. Every resource
 * is named by the service: LDS `svc` holds an API listener whose routes come from RDS `svc`,
 * which sends every call to cluster `svc`, whose endpoints come from EDS `svc`. Only EDS
 * changes with the assignment; it is encoded once per assignment and shared by every stream.
 */
export class XdsResources {
  private readonly root = loadRoot();
  private readonly encoders = new Map<string, protobuf.Type>();
  private readonly router: Any = { type_url: ROUTER_TYPE, value: Buffer.alloc(0) };
  /** EDS of an assignment, or of one client's view of it (AssignmentViews). */
  readonly endpoints: (assignment: ServiceAssignment) => Any = oncePer((a) => this.pack(ENDPOINT_TYPE, loadAssignment(a)));

  /** @param reportLoad clusters name this server for LRS (lookaside ingests the reports as client stats). */
  constructor(private readonly reportLoad: boolean) {}

  listener(service: string): Any {
    const manager: HttpConnectionManager = {
      rds: { configSource: { ads: {}, resourceApiVersion: 'V3' }, routeConfigName: service },
      httpFilters: [{ name: 'envoy.filters.http.router', typedConfig: this.router }],
    };
    const listener: Listener = { name: service, apiListener: { apiListener: this.pack(HTTP_CONNECTION_MANAGER_TYPE, manager) } };
    return this.pack(LISTENER_TYPE, listener);
  }

  route(service: string): Any {
    const route: RouteConfiguration = {
      name: service,
      virtualHosts: [{ name: service, domains: ['*'], routes: [{ match: { prefix: '' }, route: { cluster: service } }] }],
    };
    return this.pack(ROUTE_TYPE, route);
  }

  cluster(service: string): Any {
    const cluster: Cluster = {
      name: service,
      type: 'EDS',
      edsClusterConfig: { edsConfig: { ads: {}, resourceApiVersion: 'V3' }, serviceName: service },
      lbPolicy: 'ROUND_ROBIN',
      ...(this.reportLoad ? { lrsServer: { self: {} } } : {}),
    };
    return this.pack(CLUSTER_TYPE, cluster);
  }

  /** The message `typeUrl` names, encoded into an Any. */
  private pack(typeUrl: string, message: object): Any {
    let type = this.encoders.get(typeUrl);
    if (!type) {
      type = this.root.lookupType(typeUrl.slice(TYPE_PREFIX.length));
      this.encoders.set(typeUrl, type);
    }
    return { type_url: typeUrl, value: Buffer.from(type.encode(type.fromObject(message)).finish()) };
  }
}

/**
 * EDS for an assignment. Each backend is a locality of its own (zone = its zone, sub_zone =
 * its id) weighted by its policy weight: gRPC's xDS clients pick a locality by weight and then
 * round-robin inside it, ignoring endpoint weights, so this is how the weights reach them.
 * The endpoint weight is set too, for clients that read it. Draining backends are listed as
 * DRAINING (clients send them no new calls); the policy's drops become a drop_overload.
 */
export function loadAssignment(assignment: ServiceAssignment): ClusterLoadAssignment {
  const endpoints: LocalityLbEndpoints[] = assignment.backends.map((b) => ({
    locality: { region: '', zone: b.zone, subZone: b.id },
    loadBalancingWeight: { value: b.weight },
    priority: 0,
    lbEndpoints: [
      {
        endpoint: { address: { socketAddress: { address: b.host, portValue: b.port } } },
        healthStatus: 'HEALTHY',
        loadBalancingWeight: { value: b.weight },
      },
    ],
  }));
  for (const b of assignment.draining) {
    endpoints.push({
      locality: { region: '', zone: b.zone, subZone: b.id },
      loadBalancingWeight: { value: 1 },
      priority: 0,
      lbEndpoints: [{ endpoint: { address: { socketAddress: { address: b.host, portValue: b.port } } }, healthStatus: 'DRAINING' }],
    });
  }
  const dropOverloads =
    assignment.dropPpm > 0
      ? [{ category: DROP_CATEGORY, dropPercentage: { numerator: assignment.dropPpm, denominator: 'MILLION' as const } }]
      : [];
  return { clusterName: assignment.service, endpoints, policy: { dropOverloads } };
}
