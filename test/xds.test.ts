/**
 * The xDS protocol as lookaside speaks it, driven by a raw ADS / LRS client over real gRPC:
 * the resources of a service, versions and nonces, ACK, NACK and stale requests, bad and
 * unknown names and types, LRS ingestion, and auth. (test/xds-grpc-js.test.ts runs the real
 * @grpc/grpc-js-xds client.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Metadata, status } from '@grpc/grpc-js';
import { MetricsService } from '../src/common/metrics.service.js';
import type { DiscoveryRequest } from '../src/generated/envoy/service/discovery/v3/DiscoveryRequest.js';
import type { DiscoveryResponse__Output } from '../src/generated/envoy/service/discovery/v3/DiscoveryResponse.js';
import type { LoadStatsRequest } from '../src/generated/envoy/service/load_stats/v3/LoadStatsRequest.js';
import type { LoadStatsResponse__Output } from '../src/generated/envoy/service/load_stats/v3/LoadStatsResponse.js';
import { REGISTRY_STORE, type RegistryStore } from '../src/store/types.js';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../src/xds/resources.js';
import { startService, type RunningService } from './support/lookaside.js';
import { waitFor } from './support/ports.js';
import { clients, type Clients } from './support/protos.js';
import { bearer, openReport, Recorded, steadyLoad } from './support/streams.js';
import { unpack, type Packed } from './support/xds.js';

function openAds(c: Clients, metadata = new Metadata()) {
  const stream = c.ads.StreamAggregatedResources(metadata);
  const recorded = new Recorded<DiscoveryResponse__Output>(stream);
  let seen = 0;
  return {
    stream,
    recorded,
    send(request: DiscoveryRequest) {
      stream.write({ node: { id: 'raw-test-client' }, ...request });
    },
    /** The next response not returned before, which must be of `typeUrl`. */
    async next(typeUrl: string, timeoutMs = 5000): Promise<DiscoveryResponse__Output> {
      const response = await recorded.next(`a response after #${seen}`, () => true, seen, timeoutMs);
      seen = recorded.messages.indexOf(response) + 1;
      assert.equal(response.typeUrl, typeUrl, `expected a ${typeUrl} response, got ${response.typeUrl}`);
      return response;
    },
    /** Responses since the last next(). */
    unread: () => recorded.messages.slice(seen),
  };
}

function openLrs(c: Clients, metadata = new Metadata()) {
  const stream = c.lrs.StreamLoadStats(metadata);
  const recorded = new Recorded<LoadStatsResponse__Output>(stream);
  return { stream, recorded, send: (request: LoadStatsRequest) => stream.write(request) };
}

describe('xDS: ADS and LRS over real gRPC', () => {
  let service: Awaited<ReturnType<typeof startService>>;
  let c: Clients;
  let metrics: MetricsService;

  before(async () => {
    service = await startService({
      env: {
        LOOKASIDE_POLICY_BLACKOUT_MS: '0',
        LOOKASIDE_POLICY_SLOW_START_MS: '0',
        LOOKASIDE_LOAD_PUSH_INTERVAL_MS: '100',
        LOOKASIDE_CLIENT_STATS_INTERVAL_MS: '1000',
        // The policy reads the last complete window: a short one shows LRS counts soon.
        LOOKASIDE_CLIENT_STATS_WINDOW_MS: '1000',
        LOOKASIDE_MAX_XDS_RESOURCE_NAMES: '5',
      },
    });
    c = clients(service.grpcAddress);
    metrics = service.app.get(MetricsService);
  });
  after(async () => {
    c.close();
    await service.stop();
  });

  it('answers LDS, RDS and CDS for a service, all named by it, in the shapes gRPC clients accept', async () => {
    const ads = openAds(c);
    ads.send({ typeUrl: LISTENER_TYPE, resourceNames: ['echo'] });
    const lds = await ads.next(LISTENER_TYPE);
    assert.equal(lds.versionInfo, '1');
    assert.ok(lds.nonce);
    assert.equal(lds.controlPlane?.identifier, 'lookaside');
    const listener = unpack(lds.resources[0]);
    assert.equal(listener.name, 'echo');
    const manager = unpack(listener.apiListener.apiListener);
    assert.equal(manager.rds.routeConfigName, 'echo');
    assert.ok(manager.rds.configSource.ads, 'routes come over the same ADS stream');
    assert.deepEqual(
      manager.httpFilters.map((f: { typedConfig: Packed }) => f.typedConfig.type_url),
      ['type.googleapis.com/envoy.extensions.filters.http.router.v3.Router'],
      'the router filter, last',
    );

    ads.send({ typeUrl: ROUTE_TYPE, resourceNames: ['echo'] });
    const route = unpack((await ads.next(ROUTE_TYPE)).resources[0]);
    assert.equal(route.name, 'echo');
    assert.deepEqual(route.virtualHosts[0].domains, ['*']);
    assert.equal(route.virtualHosts[0].routes[0].match.prefix, '');
    assert.equal(route.virtualHosts[0].routes[0].match.pathSpecifier, 'prefix', 'an empty prefix is still set');
    assert.equal(route.virtualHosts[0].routes[0].route.cluster, 'echo');

    ads.send({ typeUrl: CLUSTER_TYPE, resourceNames: ['echo'] });
    const cluster = unpack((await ads.next(CLUSTER_TYPE)).resources[0]);
    assert.equal(cluster.name, 'echo');
    assert.equal(cluster.type, 'EDS');
    assert.equal(cluster.lbPolicy, 'ROUND_ROBIN');
    assert.equal(cluster.edsClusterConfig.serviceName, 'echo');
    assert.ok(cluster.edsClusterConfig.edsConfig.ads);
    assert.ok(cluster.lrsServer?.self, 'clients report load to this server');
    ads.stream.end();
  });

  it('sends EDS with a weighted locality per backend, pushes each change alone, and lists draining backends as DRAINING', async () => {
    const ads = openAds(c);
    ads.send({ typeUrl: ENDPOINT_TYPE, resourceNames: ['eds-svc', 'eds-quiet'] });
    const empty = await ads.next(ENDPOINT_TYPE);
    assert.deepEqual(empty.resources.map((r) => unpack(r).clusterName), ['eds-quiet', 'eds-svc']);
    assert.deepEqual(unpack(empty.resources[1]).endpoints, [], 'no backends yet: no endpoints');

    const big = openReport(c);
    big.register('eds-svc', '127.0.0.1', 8201, { zone: 'zone-a', load: steadyLoad(100, 0.25) });
    const small = openReport(c);
    small.register('eds-svc', '127.0.0.1', 8202, { zone: 'zone-b', load: steadyLoad(100, 0.5) });
    await Promise.all([big.registered(), small.registered()]);
    const both = await waitFor('both backends in EDS', async () => {
      const r = await ads.next(ENDPOINT_TYPE);
      // A push carries the service that changed, not the quiet one (clients keep what EDS leaves out).
      assert.deepEqual(r.resources.map((x) => unpack(x).clusterName), ['eds-svc']);
      return unpack(r.resources[0]).endpoints.length === 2 ? r : undefined;
    });
    assert.ok(Number(both.versionInfo) > Number(empty.versionInfo), 'versions grow');
    assert.notEqual(both.nonce, empty.nonce);
    // A one-service push is spliced from this stream's fields and bytes shared with other streams.
    assert.equal(both.typeUrl, ENDPOINT_TYPE);
    assert.equal(both.controlPlane?.identifier, 'lookaside');
    const [a, b] = unpack(both.resources[0]).endpoints;
    assert.deepEqual(a.locality, { region: '', zone: 'zone-a', subZone: '127.0.0.1:8201' });
    assert.deepEqual(b.locality, { region: '', zone: 'zone-b', subZone: '127.0.0.1:8202' });
    assert.equal(a.loadBalancingWeight.value, 1000, 'rps/cpu twice the other: the heaviest');
    assert.equal(b.loadBalancingWeight.value, 500);
    assert.equal(a.lbEndpoints[0].endpoint.address.socketAddress.address, '127.0.0.1');
    assert.equal(a.lbEndpoints[0].endpoint.address.socketAddress.portValue, 8201);
    assert.equal(a.lbEndpoints[0].healthStatus, 'HEALTHY');

    small.report(steadyLoad(100, 0.5), 'DRAINING');
    const drained = await waitFor('the small backend DRAINING', async () => {
      const endpoints = unpack((await ads.next(ENDPOINT_TYPE)).resources[0]).endpoints;
      return endpoints.find((e: { lbEndpoints: Array<{ healthStatus: string }> }) => e.lbEndpoints[0].healthStatus === 'DRAINING') ? endpoints : undefined;
    });
    assert.deepEqual(
      drained.map((e: { locality: { subZone: string }; lbEndpoints: Array<{ healthStatus: string }> }) => [e.locality.subZone, e.lbEndpoints[0].healthStatus]),
      [['127.0.0.1:8201', 'HEALTHY'], ['127.0.0.1:8202', 'DRAINING']],
    );

    small.stream.end();
    await waitFor('the small backend gone', async () => {
      const endpoints = unpack((await ads.next(ENDPOINT_TYPE)).resources[0]).endpoints;
      return endpoints.length === 1 ? true : undefined;
    });
    big.stream.end();
    ads.stream.end();
  });

  it('takes ACKs and NACKs without resending, ignores stale nonces, and answers a changed subscription', async () => {
    const nacksBefore = await metrics.value(metrics.xdsNacks);
    const ads = openAds(c);
    ads.send({ typeUrl: LISTENER_TYPE, resourceNames: ['echo'] });
    const first = await ads.next(LISTENER_TYPE);
    ads.send({ typeUrl: LISTENER_TYPE, resourceNames: ['echo'], versionInfo: first.versionInfo, responseNonce: first.nonce });
    ads.send({
      typeUrl: LISTENER_TYPE,
      resourceNames: ['echo'],
      versionInfo: first.versionInfo,
      responseNonce: first.nonce,
      errorDetail: { code: status.INVALID_ARGUMENT, message: 'the test rejects it' },
    });
    // A subscription change quoting a nonce that is not the latest: stale, ignored.
    ads.send({ typeUrl: LISTENER_TYPE, resourceNames: ['echo', 'other'], responseNonce: 'not-the-latest' });
    // Requests are handled in order: the CDS answer comes next only if none of the above got one.
    ads.send({ typeUrl: CLUSTER_TYPE, resourceNames: ['echo'] });
    await ads.next(CLUSTER_TYPE);
    assert.equal(await metrics.value(metrics.xdsNacks), nacksBefore + 1, 'the NACK is counted');

    ads.send({ typeUrl: LISTENER_TYPE, resourceNames: ['echo', 'other'], versionInfo: first.versionInfo, responseNonce: first.nonce });
    const second = await ads.next(LISTENER_TYPE);
    assert.deepEqual(second.resources.map((r) => unpack(r).name).sort(), ['echo', 'other']);
    assert.equal(second.versionInfo, '2');
    assert.equal(ads.recorded.status, undefined, 'the stream stays open');
    ads.stream.end();
  });

  it('leaves out names that are not services and answers unknown types with nothing, keeping the stream', async () => {
    const omittedBefore = await metrics.value(metrics.xdsResourcesOmitted);
    const ads = openAds(c);
    ads.send({ typeUrl: LISTENER_TYPE, resourceNames: ['ok-svc', 'bad name!', 'x'.repeat(300), 'xdstp://authority/envoy.config.listener.v3.Listener/a'] });
    const lds = await ads.next(LISTENER_TYPE);
    assert.deepEqual(lds.resources.map((r) => unpack(r).name), ['ok-svc'], 'the others do not exist');
    assert.equal(await metrics.value(metrics.xdsResourcesOmitted), omittedBefore + 3);

    const unknownType = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
    ads.send({ typeUrl: unknownType, resourceNames: ['anything'] });
    const secret = await ads.next(unknownType);
    assert.deepEqual(secret.resources, []);
    assert.equal(ads.recorded.status, undefined);
    ads.stream.end();
  });

  it('ends a stream with INVALID_ARGUMENT for a request without a type or with too many names; other streams go on', async () => {
    const bystander = openAds(c);
    bystander.send({ typeUrl: LISTENER_TYPE, resourceNames: ['echo'] });
    const seen = await bystander.next(LISTENER_TYPE);

    const untyped = openAds(c);
    untyped.send({ resourceNames: ['echo'] });
    const ended = await untyped.recorded.ended();
    assert.equal(ended.code, status.INVALID_ARGUMENT);
    assert.match(ended.details, /^type_url: is required/);

    const greedy = openAds(c);
    greedy.send({ typeUrl: LISTENER_TYPE, resourceNames: ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'] });
    const tooMany = await greedy.recorded.ended();
    assert.equal(tooMany.code, status.INVALID_ARGUMENT);
    assert.match(tooMany.details, /^resource_names: has 6 names, at most 5/);

    bystander.send({ typeUrl: LISTENER_TYPE, resourceNames: ['echo', 'more'], responseNonce: seen.nonce, versionInfo: seen.versionInfo });
    assert.equal((await bystander.next(LISTENER_TYPE)).resources.length, 2);
    bystander.stream.end();
  });

  it('turns LRS reports into client stats of the backends, checking all of a report before counting any of it', async () => {
    const backend = openReport(c);
    backend.register('lrs-svc', '127.0.0.1', 8301, { load: steadyLoad(100, 0.5) });
    const token = (await backend.registered()).loadBalanceToken;
    // LRS counts the clusters this replica holds an assignment for: a client watching them.
    const ads = openAds(c);
    ads.send({ typeUrl: ENDPOINT_TYPE, resourceNames: ['lrs-svc'] });
    await waitFor('the backend in EDS', async () => (unpack((await ads.next(ENDPOINT_TYPE)).resources[0]).endpoints.length === 1 ? true : undefined));

    const lrs = openLrs(c);
    lrs.send({ node: { id: 'raw-test-client' } });
    const asked = await lrs.recorded.next('the LRS response', () => true);
    assert.equal(asked.sendAllClusters, true);
    assert.equal(Number(asked.loadReportingInterval?.seconds), 1);

    const locality = (subZone: string, issued: number, ok: number, failed: number) => ({
      locality: { zone: '', subZone },
      totalIssuedRequests: issued,
      totalSuccessfulRequests: ok,
      totalErrorRequests: failed,
    });
    lrs.send({
      clusterStats: [
        {
          clusterName: 'lrs-svc',
          clusterServiceName: 'lrs-svc',
          upstreamLocalityStats: [locality('127.0.0.1:8301', 10, 8, 2), locality('127.0.0.1:9999', 5, 5, 0)],
          totalDroppedRequests: 0,
        },
      ],
    });
    const store = service.app.get<symbol, RegistryStore>(REGISTRY_STORE, { strict: false });
    const counted = await waitFor('the LRS counts in the stats window', async () => (await store.snapshot('lrs-svc')).clientStats[token], 5000, 100);
    assert.deepEqual({ ...counted }, { started: 10, finished: 10, failed: 2, dropped: 0 }, 'the unknown locality is ignored');

    // A count past 2^53 cannot be right: the stream ends naming it, and the good entry before it is not counted.
    const bad = openLrs(c);
    bad.send({ node: { id: 'raw-test-client' } });
    bad.send({
      clusterStats: [
        { clusterName: 'lrs-svc', upstreamLocalityStats: [locality('127.0.0.1:8301', 1000, 1000, 0)] },
        { clusterName: 'lrs-svc', upstreamLocalityStats: [locality('127.0.0.1:8301', 2 ** 60, 0, 0)] },
      ],
    });
    const ended = await bad.recorded.ended();
    assert.equal(ended.code, status.INVALID_ARGUMENT);
    assert.match(ended.details, /^cluster_stats\[1\]\.upstream_locality_stats\[0\]\.total_issued_requests: must be a non-negative integer/);
    const badName = openLrs(c);
    badName.send({ clusterStats: [{ clusterName: 'no spaces allowed' }] });
    assert.match((await badName.recorded.ended()).details, /^cluster_stats\[0\]\.cluster_name: /);
    // One more good report: its window holds it alone, never the refused report's 1000 calls.
    lrs.send({ clusterStats: [{ clusterName: 'lrs-svc', upstreamLocalityStats: [locality('127.0.0.1:8301', 1, 1, 0)] }] });
    let most = 0;
    await waitFor('a window with the last report alone', async () => {
      const stats = (await store.snapshot('lrs-svc')).clientStats[token];
      most = Math.max(most, stats?.started ?? 0);
      return stats?.started === 1 ? true : undefined;
    });
    assert.ok(most < 1000, `a refused report was counted: ${most} calls in a window`);
    lrs.stream.end();
    ads.stream.end();
    backend.stream.end();
  });
});

describe('xDS: the same auth as the other reading APIs', () => {
  const TOKEN = 'xds-reader-token-000001';
  let dir: string;
  let file: string;
  let service: RunningService & { app: Awaited<ReturnType<typeof startService>>['app'] };
  let c: Clients;
  const writeTokens = (withReader: boolean) =>
    writeFileSync(file, JSON.stringify({ tokens: withReader ? [{ name: 'web', token: TOKEN, read: ['echo'] }] : [{ name: 'other', token: 'other-token-000000001', read: ['echo'] }] }));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lookaside-xds-auth-'));
    file = join(dir, 'tokens.json');
    writeTokens(true);
    service = await startService({
      env: { LOOKASIDE_AUTH_MODE: 'tokens', LOOKASIDE_AUTH_TOKEN_FILE: file, LOOKASIDE_AUTH_READERS: 'xds', LOOKASIDE_FILE_RELOAD_INTERVAL_MS: '100' },
    });
    c = clients(service.grpcAddress);
  });
  after(async () => {
    c.close();
    await service.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses ADS and LRS without a token, leaves out what the token may not read, and ends streams when it is revoked', async () => {
    const anonymous = openAds(c);
    anonymous.send({ typeUrl: LISTENER_TYPE, resourceNames: ['echo'] });
    const refused = await anonymous.recorded.ended();
    assert.equal(refused.code, status.UNAUTHENTICATED);
    assert.match(refused.details, /^authorization: a bearer token is required/);
    const anonymousLrs = openLrs(c);
    anonymousLrs.send({ node: { id: 'x' } });
    assert.equal((await anonymousLrs.recorded.ended()).code, status.UNAUTHENTICATED);

    const metrics = service.app.get(MetricsService);
    const deniedBefore = await metrics.value(metrics.xdsResourcesOmitted);
    const reader = openAds(c, bearer(TOKEN));
    reader.send({ typeUrl: LISTENER_TYPE, resourceNames: ['echo', 'shop'] });
    const lds = await reader.next(LISTENER_TYPE);
    assert.deepEqual(lds.resources.map((r) => unpack(r).name), ['echo'], '"shop" is not readable with this token');
    assert.equal(await metrics.value(metrics.xdsResourcesOmitted), deniedBefore + 1);

    writeTokens(false);
    const revoked = await reader.recorded.ended();
    assert.equal(revoked.code, status.UNAUTHENTICATED);
    assert.match(revoked.details, /revoked/);
  });
});
