/**
 * Interoperability with an unmodified @grpc/grpc-js-xds client (from npm): an `xds:///echo`
 * channel bootstrapped to lookaside, over real sockets on 127.0.0.1, through a real Redis,
 * calling grpc-js echo backends that lookaside learns of from their reports. The client gets
 * LDS, RDS, CDS and EDS over ADS and reports its calls over LRS.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as xds from '@grpc/grpc-js-xds';
import { REGISTRY_STORE, type RegistryStore } from '../src/store/types.js';
import { MetricsService } from '../src/common/metrics.service.js';
import { ECHO_METHOD, startEchoBackend, type EchoBackend } from './interop/echo-backend.js';
import { startService } from './support/lookaside.js';
import { waitFor } from './support/ports.js';
import { clients, type Clients } from './support/protos.js';
import { rawUnaryMethod } from './support/raw-method.js';
import { startRedis, uniquePrefix, type TestRedis } from './support/redis.js';
import { openReport, steadyLoad } from './support/streams.js';

const SERVICE = 'echo';
const REPORT_EVERY_MS = 300;
const echo = rawUnaryMethod(ECHO_METHOD);

function call(client: grpc.Client): Promise<void> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(echo.path, echo.requestSerialize, echo.responseDeserialize, Buffer.alloc(0), { deadline: Date.now() + 5000 }, (error) =>
      error ? reject(error) : resolve(),
    ),
  );
}

/** Makes `n` calls, a few at a time, and returns how many each backend took. */
async function calls(client: grpc.Client, backends: EchoBackend[], n: number): Promise<number[]> {
  const before = backends.map((b) => b.tokens.length);
  for (let i = 0; i < n; i += 10) await Promise.all(Array.from({ length: Math.min(10, n - i) }, () => call(client)));
  return backends.map((b, i) => b.tokens.length - before[i]);
}

describe('interop: unmodified @grpc/grpc-js-xds client against lookaside (Redis store)', () => {
  let redis: TestRedis;
  let service: Awaited<ReturnType<typeof startService>>;
  let c: Clients;
  let backends: EchoBackend[];
  let client: grpc.Client | undefined;
  const timers: NodeJS.Timeout[] = [];

  before(async () => {
    redis = await startRedis();
    service = await startService({
      redisUrl: redis.url,
      redisPrefix: uniquePrefix(),
      env: {
        LOOKASIDE_POLICY_BLACKOUT_MS: '0',
        LOOKASIDE_POLICY_SLOW_START_MS: '0',
        LOOKASIDE_LOAD_PUSH_INTERVAL_MS: '200',
        LOOKASIDE_CLIENT_STATS_INTERVAL_MS: '1000',
        LOOKASIDE_CLIENT_STATS_WINDOW_MS: '5000',
      },
    });
    c = clients(service.grpcAddress);
    backends = await Promise.all([0, 1, 2].map(() => startEchoBackend()));
    process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
      xds_servers: [{ server_uri: service.grpcAddress, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'xds-interop-test', locality: { zone: 'zone-a' } },
    });
    xds.register();
  });

  after(async () => {
    timers.forEach(clearInterval);
    client?.close();
    c?.close();
    await service?.stop();
    await Promise.all((backends ?? []).map((b) => b.stop()));
    await redis?.stop();
  });

  function register(backend: EchoBackend, cpu: number) {
    const report = openReport(c);
    const state = { cpu, serving: 'SERVING' as 'SERVING' | 'DRAINING' };
    report.register(SERVICE, '127.0.0.1', backend.port, { load: steadyLoad(100, cpu), state: 'SERVING' });
    timers.push(setInterval(() => report.report(steadyLoad(100, state.cpu), state.serving), REPORT_EVERY_MS));
    return { report, state };
  }

  it('follows registrations, weights, draining and removals, and reports its calls over LRS', { timeout: 90_000 }, async () => {
    const [a, b, cc] = backends;
    // Weights from rps / cpu: a can take three times what b can.
    const ra = register(a, 0.25);
    const rb = register(b, 0.75);
    await Promise.all([ra.report.registered(), rb.report.registered()]);

    client = new grpc.Client(`xds:///${SERVICE}`, grpc.credentials.createInsecure());
    // The first calls wait for the xDS resources and the connections.
    await waitFor('a first call through xDS', () => call(client!).then(() => true, () => undefined), 20_000, 200);

    const weighted = await calls(client, [a, b, cc], 400);
    const shareA = weighted[0] / (weighted[0] + weighted[1]);
    assert.equal(weighted[2], 0, 'cc is not registered yet');
    assert.ok(shareA > 0.62 && shareA < 0.88, `a should take about 3/4 of the calls (weights 1000:333), took ${weighted.join('/')}`);

    // A new backend: calls reach it without the client reconnecting anything.
    const rc = register(cc, 0.25);
    const tokenC = (await rc.report.registered()).loadBalanceToken;
    await waitFor('calls to the new backend', async () => ((await calls(client!, [a, b, cc], 20))[2] > 0 ? true : undefined), 10_000, 50);

    // b drains: EDS lists it as DRAINING and the client sends it nothing new. (b takes about
    // 1/7 of the calls while listed: 100 calls without one are no accident.)
    rb.state.serving = 'DRAINING';
    await waitFor('b out of the rotation', async () => ((await calls(client!, [a, b, cc], 100))[1] === 0 ? true : undefined), 10_000, 50);
    const afterDrain = await calls(client, [a, b, cc], 200);
    assert.equal(afterDrain[1], 0, `a draining backend got calls: ${afterDrain.join('/')}`);
    assert.ok(afterDrain[0] > 0 && afterDrain[2] > 0, `a and cc share the calls: ${afterDrain.join('/')}`);

    // a leaves (its report stream ends): only cc is left.
    ra.report.stream.end();
    await waitFor('a out of the rotation', async () => ((await calls(client!, [a, b, cc], 50))[0] === 0 ? true : undefined), 10_000, 50);
    const last = await calls(client, [a, b, cc], 100);
    assert.deepEqual(last, [0, 0, 100]);

    // LRS: the client's per-locality counts became client stats of the backend's token.
    const store = service.app.get<symbol, RegistryStore>(REGISTRY_STORE, { strict: false });
    const stats = await waitFor(
      'LRS counts in the client stats window',
      async () => {
        const window = (await store.snapshot(SERVICE)).clientStats;
        return (window[tokenC]?.finished ?? 0) >= 100 ? window : undefined;
      },
      10_000,
      200,
    );
    assert.equal(stats[tokenC].failed, 0);
    assert.ok(stats[tokenC].started >= stats[tokenC].finished);
    const metrics = service.app.get(MetricsService);
    assert.equal(await metrics.value(metrics.xdsNacks), 0, 'the client accepted every response');
  });
});
