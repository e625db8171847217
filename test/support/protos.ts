import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_FILES, protoLoaderOptions } from '../../src/app.js';
import type { ProtoGrpcType as LoadBalancerProto } from '../../src/generated/load_balancer.js';
import type { ProtoGrpcType as ReportsProto } from '../../src/generated/reports.js';
import type { ProtoGrpcType as AssignmentsProto } from '../../src/generated/assignments.js';
import type { ProtoGrpcType as RegistryProto } from '../../src/generated/registry.js';
import type { ProtoGrpcType as HealthProto } from '../../src/generated/health.js';
import type { ProtoGrpcType as AdsProto } from '../../src/generated/ads.js';
import type { ProtoGrpcType as LrsProto } from '../../src/generated/lrs.js';

type Loaded = LoadBalancerProto & ReportsProto & AssignmentsProto & RegistryProto & HealthProto & AdsProto & LrsProto;

let loaded: Loaded | undefined;
/** The service's own protos, loaded as any grpc-js client would. */
export function protos(): Loaded {
  if (!loaded) {
    const definition = protoLoader.loadSync(PROTO_FILES, protoLoaderOptions());
    loaded = grpc.loadPackageDefinition(definition) as unknown as Loaded;
  }
  return loaded;
}

export interface Clients {
  loadBalancer: InstanceType<Loaded['grpc']['lb']['v1']['LoadBalancer']>;
  reports: InstanceType<Loaded['lookaside']['v1']['Reports']>;
  assignments: InstanceType<Loaded['lookaside']['v1']['Assignments']>;
  registry: InstanceType<Loaded['lookaside']['v1']['Registry']>;
  health: InstanceType<Loaded['grpc']['health']['v1']['Health']>;
  ads: InstanceType<Loaded['envoy']['service']['discovery']['v3']['AggregatedDiscoveryService']>;
  lrs: InstanceType<Loaded['envoy']['service']['load_stats']['v3']['LoadReportingService']>;
  close(): void;
}

/** Clients on one channel; distinct `options` give distinct connections. */
export function clients(address: string, options: grpc.ChannelOptions = {}, creds = grpc.credentials.createInsecure()): Clients {
  const p = protos();
  const made = {
    loadBalancer: new p.grpc.lb.v1.LoadBalancer(address, creds, options),
    reports: new p.lookaside.v1.Reports(address, creds, options),
    assignments: new p.lookaside.v1.Assignments(address, creds, options),
    registry: new p.lookaside.v1.Registry(address, creds, options),
    health: new p.grpc.health.v1.Health(address, creds, options),
    ads: new p.envoy.service.discovery.v3.AggregatedDiscoveryService(address, creds, options),
    lrs: new p.envoy.service.load_stats.v3.LoadReportingService(address, creds, options),
  };
  return { ...made, close: () => Object.values(made).forEach((c) => c.close()) };
}
