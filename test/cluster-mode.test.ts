import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { ListBackendsResponse__Output } from '../src/generated/lookaside/v1/ListBackendsResponse.js';
import { FakeApiServer } from './kubernetes/fake-apiserver.js';
import { endpoint, ip, slice } from './kubernetes/helpers.js';
import { clients, type Clients } from './support/protos.js';
import { startServiceProcess, type RunningService } from './support/lookaside.js';
import { startRedis, uniquePrefix, type TestRedis } from './support/redis.js';
import { openBalanceLoad, openReport, steadyLoad } from './support/streams.js';

const PORT = 50051;
const addr = (i: number) => `${ip(i)}:${PORT}`;

function listBackends(c: Clients, service: string): Promise<ListBackendsResponse__Output> {
  return new Promise((resolve, reject) => c.registry.ListBackends({ service }, (err, res) => (err ? reject(err) : resolve(res!))));
}

describe('cluster mode: EndpointSlices define membership, reports add load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lookaside-cluster-'));
  const apiserver = new FakeApiServer();
  let redis: TestRedis;
  let replicas: RunningService[] = [];
  let ca: Clients;
  let cb: Clients;

  before(async () => {
    await apiserver.start();
    apiserver.apply(
      slice('echo-a', 'echo', [endpoint(1), endpoint(2), endpoint(3, { ready: false, serving: true, terminating: true })]),
    );
    const kubeconfig = join(dir, 'config');
    apiserver.writeKubeconfig(kubeconfig);
    redis = await startRedis();
    const prefix = uniquePrefix();
    const env = {
      KUBECONFIG: kubeconfig,
      LOOKASIDE_K8S: 'on',
      LOOKASIDE_K8S_SERVICES: 'echo=demo/echo:grpc',
      // Weights at once: these tests are about membership, not warm-up.
      LOOKASIDE_POLICY_BLACKOUT_MS: '0',
      LOOKASIDE_POLICY_SLOW_START_MS: '0',
    };
    replicas = await Promise.all([0, 1].map(() => startServiceProcess({ redisUrl: redis.url, redisPrefix: prefix, env })));
    ca = clients(replicas[0].grpcAddress);
    cb = clients(replicas[1].grpcAddress);
  });
  after(async () => {
    ca?.close();
    cb?.close();
    await Promise.all(replicas.map((r) => r.stop()));
    await redis?.stop();
    await apiserver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('assigns the ready endpoints before any report, the same on every replica', async () => {
    const [la, lb] = [openBalanceLoad(ca, 'echo:50051'), openBalanceLoad(cb, 'echo')];
    await la.waitForBackends([addr(1), addr(2)]);
    await lb.waitForBackends([addr(1), addr(2)]);
    assert.deepEqual(la.latestList(), lb.latestList());
    la.stream.cancel();
    lb.stream.cancel();
  });

  it('accepts and weighs a report for an address in the slices', async () => {
    const one = openReport(ca);
    one.register('echo', ip(1), PORT, { load: steadyLoad(100, 0.25) });
    const two = openReport(cb);
    two.register('echo', ip(2), PORT, { load: steadyLoad(100, 0.5) });
    await Promise.all([one.registered(), two.registered()]);
    const listed = await listBackends(ca, 'echo');
    const weight = new Map(listed.backends.map((b) => [b.backendId, b.weight]));
    assert.equal(weight.get(addr(1)), 2 * weight.get(addr(2))!, 'the report weighs the endpoint');
    assert.equal(weight.get(addr(3)), 0, 'the terminating endpoint gets nothing');
    assert.equal(listed.backends.find((b) => b.backendId === addr(3))?.state, 'DRAINING');
    one.stream.end();
    two.stream.end();
  });

  it('rejects a report for an address outside the slices, and changes nothing', async () => {
    const before = await listBackends(ca, 'echo');
    const intruder = openReport(ca);
    intruder.register('echo', '10.9.9.9', PORT, { load: steadyLoad(1000, 0.01) });
    const ended = await intruder.recorded.ended();
    assert.equal(ended.code, status.PERMISSION_DENIED);
    assert.match(ended.details, /^registration\.host: 10\.9\.9\.9:50051 is not an endpoint of the Kubernetes Service behind "echo"/);
    const afterwards = await listBackends(ca, 'echo');
    assert.deepEqual(
      afterwards.backends.map((b) => b.backendId),
      before.backends.map((b) => b.backendId),
    );
  });

  it('drains an endpoint as soon as its slice says it is terminating', async () => {
    const lb = openBalanceLoad(cb, 'echo');
    await lb.waitForBackends([addr(1), addr(2)]);
    apiserver.apply(slice('echo-a', 'echo', [endpoint(1), endpoint(2, { ready: false, serving: true, terminating: true }), endpoint(3, { ready: false, serving: true, terminating: true })]));
    await lb.waitForBackends([addr(1)]);
    // A new slice of the same Service adds to the membership; it does not replace it.
    apiserver.apply(slice('echo-b', 'echo', [endpoint(4)]));
    await lb.waitForBackends([addr(1), addr(4)]);
    apiserver.delete('demo', 'echo-b');
    await lb.waitForBackends([addr(1)]);
    lb.stream.cancel();
  });
});
