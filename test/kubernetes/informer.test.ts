/**
 * KubernetesMembership with the real @kubernetes/client-node informer against a fake apiserver
 * that speaks the list/watch protocol. The membership is checked right after every step.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KubernetesMembership } from '../../src/kubernetes/kubernetes-membership.js';
import { loadKubernetesConfig } from '../../src/kubernetes/kubernetes.config.js';
import type { ClusterEndpoint } from '../../src/kubernetes/endpoint-slices.js';
import { FakeApiServer } from './fake-apiserver.js';
import { endpoint, ip, kubeConfigFor, range, slice, sleep, until } from './helpers.js';

const TEST_ENV = {
  KUBECONFIG: '/unused/injected-kubeconfig',
  LOOKASIDE_K8S: 'on',
  LOOKASIDE_K8S_SERVICES: 'echo=demo/echo:grpc',
  LOOKASIDE_K8S_BACKOFF_MIN_MS: '20',
  LOOKASIDE_K8S_BACKOFF_MAX_MS: '200',
};

function hosts(list: readonly ClusterEndpoint[] | undefined): string[] {
  assert.ok(list, 'endpoints are defined');
  return list.map((e) => e.host);
}

function expectExactly(m: KubernetesMembership, ids: number[]): void {
  const got = hosts(m.endpoints('echo'));
  assert.equal(new Set(got).size, got.length, 'no duplicate address');
  assert.deepEqual(new Set(got), new Set(ids.map(ip)));
  for (const e of m.endpoints('echo')!) assert.equal(e.port, 50051, 'port resolved by name "grpc"');
}

const ids = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, k) => from + k);

describe('EndpointSlice informer against a list/watch apiserver', () => {
  const server = new FakeApiServer();
  let m: KubernetesMembership;
  const changes: string[] = [];
  let current: number[] = [];

  /** Waits until the view has exactly `expected` and checks it. */
  async function settle(expected: number[], what: string): Promise<void> {
    current = expected;
    const want = new Set(expected.map(ip));
    await until(() => {
      const list = m.endpoints('echo');
      return !!list && list.length === want.size && list.every((e) => want.has(e.host));
    }, what);
    expectExactly(m, expected);
  }

  /** Waits until the informer has seen the apiserver's latest resourceVersion and the view is recomputed. */
  async function caughtUp(): Promise<void> {
    await until(() => m.status()[0].resourceVersion === server.resourceVersion, 'informer caught up');
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
  }

  /** Waits until the informer has a watch open (so that what the server does to watches reaches it). */
  async function watching(): Promise<void> {
    await until(() => server.openWatches === 1, 'a watch is open');
  }

  before(async () => {
    await server.start();
    // 250 endpoints of Service echo across 3 slices, plus noise that must not leak in.
    server.apply(slice('echo-a', 'echo', range(0, 100)));
    server.apply(slice('echo-b', 'echo', range(100, 200)));
    server.apply(slice('echo-c', 'echo', range(200, 250)));
    server.apply(slice('echo-v6', 'echo', [{ addresses: ['fd00::1'] }], { addressType: 'IPv6' }));
    server.apply(slice('other-a', 'other', range(500, 510)));
    server.apply(slice('echo-elsewhere', 'echo', range(600, 605), { namespace: 'prod' }));
    m = new KubernetesMembership(loadKubernetesConfig(TEST_ENV), kubeConfigFor(server.url));
    m.onChange((s) => changes.push(s));
  });

  after(async () => {
    await m.stop();
    await server.close();
  });

  it('is undefined before the first sync, then merges all 3 slices (250 endpoints)', async () => {
    assert.equal(m.enabled(), true);
    assert.equal(m.watches('echo'), true);
    assert.equal(m.watches('other'), false);
    m.start();
    assert.equal(m.endpoints('echo'), undefined, 'undefined until the first list');
    await settle(ids(0, 250), 'initial list of 250 endpoints');
    assert.equal(m.synced(), true);
    assert.deepEqual(changes, ['echo'], 'one change for the whole initial list');
    const first = m.endpoints('echo')![0];
    assert.deepEqual(first, {
      host: ip(0),
      port: 50051,
      ready: true,
      serving: true,
      terminating: false,
      zone: 'zone-a',
      nodeName: 'node-0',
      podName: 'pod-0',
      namespace: 'demo',
      serviceAccount: '',
    });
    assert.equal(m.endpoints('other'), undefined);
    assert.equal(server.requests.lists, 1);
    await until(() => server.openWatches === 1, 'watch opened');
  });

  it('follows a terminating endpoint (not ready, still serving) and keeps zone and node', async () => {
    const b = slice('echo-b', 'echo', range(100, 200));
    b.endpoints[5] = endpoint(105, { ready: false, serving: true, terminating: true });
    server.apply(b);
    await until(() => m.endpoints('echo')!.find((e) => e.host === ip(105))!.terminating, 'terminating seen');
    const e = m.endpoints('echo')!.find((x) => x.host === ip(105))!;
    assert.deepEqual(
      { ready: e.ready, serving: e.serving, terminating: e.terminating, zone: e.zone, nodeName: e.nodeName },
      { ready: false, serving: true, terminating: true, zone: 'zone-a', nodeName: `node-${105 % 7}` },
    );
    expectExactly(m, current);
  });

  it('adds an endpoint, and keeps an address listed in two slices once', async () => {
    server.apply(slice('echo-c', 'echo', range(200, 251)));
    await settle(ids(0, 251), 'endpoint 250 added');
    // The controller moves endpoint 7 from echo-a to echo-c: for a moment it is in both.
    server.apply(slice('echo-c', 'echo', [...range(200, 251), endpoint(7)]));
    await caughtUp();
    expectExactly(m, ids(0, 251));
    server.apply(slice('echo-a', 'echo', range(0, 100).filter((_, k) => k !== 7)));
    await caughtUp();
    expectExactly(m, ids(0, 251));
  });

  it('moves its resourceVersion on a BOOKMARK without any change', async () => {
    const before = changes.length;
    await watching();
    const rv = server.bookmark();
    await until(() => m.status()[0].resourceVersion === rv, 'bookmark resourceVersion adopted');
    await sleep(30);
    assert.equal(changes.length, before, 'a bookmark changes nothing');
    expectExactly(m, current);
  });

  it('resumes a dropped watch from its resourceVersion without relisting', async () => {
    const lists = server.requests.lists;
    await watching();
    server.dropWatches();
    server.apply(slice('echo-c', 'echo', [...range(200, 240), endpoint(7)]));
    await settle([...ids(0, 240)], 'change made while the watch was down is seen');
    assert.equal(server.requests.lists, lists, 'no relist after a clean drop');
  });

  it('relists on an ERROR 410 event and applies what was missed (including a deleted slice)', async () => {
    const lists = server.requests.lists;
    server.deliver = false; // these changes never reach the open watch
    server.delete('demo', 'echo-c');
    server.apply(slice('echo-d', 'echo', range(300, 320)));
    server.compact();
    server.deliver = true;
    expectExactly(m, current); // still the old view
    await watching();
    server.expireWatches();
    await settle([...ids(0, 200).filter((i) => i !== 7), ...ids(300, 320)], 'relist after ERROR 410');
    assert.equal(server.requests.lists, lists + 1, 'exactly one relist');
  });

  it('relists on an HTTP 410 Gone answer to the watch', async () => {
    const lists = server.requests.lists;
    server.expiredMode = 'status';
    server.deliver = false;
    server.apply(slice('echo-d', 'echo', range(300, 330)));
    server.compact();
    server.deliver = true;
    await watching();
    server.dropWatches();
    await settle([...ids(0, 200).filter((i) => i !== 7), ...ids(300, 330)], 'relist after HTTP 410');
    assert.equal(server.requests.lists, lists + 1);
    server.expiredMode = 'event';
  });

  it('removes the endpoints of a deleted slice', async () => {
    server.delete('demo', 'echo-b');
    await settle([...ids(0, 100).filter((i) => i !== 7), ...ids(300, 330)], 'slice echo-b deleted');
  });

  it('survives an apiserver restart: keeps the last view while down, loses and duplicates nothing', async () => {
    const lists = server.requests.lists;
    await server.kill();
    // Changes made while the apiserver is down (etcd keeps them).
    server.apply(slice('echo-b', 'echo', range(100, 150)));
    server.apply(slice('echo-a', 'echo', range(0, 90)));
    server.delete('demo', 'echo-d');
    await until(() => m.status()[0].failures >= 2, 'the watch fails and is retried with backoff', 5000);
    expectExactly(m, current); // last view kept
    await server.restart();
    await settle(ids(0, 150).filter((i) => i < 90 || i >= 100), 'caught up after restart');
    assert.equal(server.requests.lists, lists, 'resumed from its resourceVersion: no relist');
    await until(() => m.status()[0].failures === 0, 'failures reset by the next event');
  });

  it('survives a restart that lost the watch history (410 then relist)', async () => {
    const lists = server.requests.lists;
    await server.kill();
    server.apply(slice('echo-c', 'echo', range(200, 210)));
    server.compact();
    await sleep(60);
    await server.restart();
    await settle([...ids(0, 150).filter((i) => i < 90 || i >= 100), ...ids(200, 210)], 'relisted after restart');
    assert.equal(server.requests.lists, lists + 1);
  });

  it('retries a failing list with backoff until it succeeds', async () => {
    const lists = server.requests.lists;
    await watching();
    server.failNext('list', 503, 2);
    server.compact();
    server.expireWatches();
    server.apply(slice('echo-c', 'echo', range(200, 205)));
    await settle([...ids(0, 150).filter((i) => i < 90 || i >= 100), ...ids(200, 205)], 'list recovered');
    assert.ok(server.requests.failed >= 2);
    assert.equal(server.requests.lists, lists + 1);
  });

  it('stops cleanly: no request after stop()', async () => {
    await m.stop();
    await sleep(20);
    const seen = { ...server.requests };
    server.dropWatches();
    await sleep(250);
    assert.deepEqual(server.requests, seen);
    assert.equal(server.openWatches, 0);
    expectExactly(m, current); // the last view stays readable
  });
});
