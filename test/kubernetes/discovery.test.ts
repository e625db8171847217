/**
 * Label discovery: Services labelled lookaside.io/service=NAME (Kubernetes copies a Service's labels
 * onto its EndpointSlices) are served without being listed one by one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KubernetesMembership } from '../../src/kubernetes/kubernetes-membership.js';
import { loadKubernetesConfig } from '../../src/kubernetes/kubernetes.config.js';
import { FakeApiServer } from './fake-apiserver.js';
import { ip, kubeConfigFor, range, slice, until } from './helpers.js';

const label = (name: string, extra: Record<string, string> = {}) => ({ labels: { 'lookaside.io/service': name, ...extra } });

describe('label discovery of Services', () => {
  const server = new FakeApiServer();
  let m: KubernetesMembership;
  const changes: string[] = [];

  before(async () => {
    await server.start();
    server.apply(slice('web-a-1', 'web-a', range(0, 4), label('web')));
    const b = slice('web-b-1', 'web-b', range(10, 13), label('web', { 'lookaside.io/port-name': 'h2' }));
    b.ports = [{ name: 'h2', port: 7000, protocol: 'TCP' }];
    server.apply(b);
    server.apply(slice('echo-1', 'echo', range(20, 22)));
    server.apply(slice('claims-echo-1', 'claims-echo', range(30, 32), label('echo'))); // must be ignored
    server.apply(slice('plain-1', 'plain', range(40, 42)));
    server.apply(slice('web-prod-1', 'web', range(50, 52), { namespace: 'prod', ...label('web') }));
    m = new KubernetesMembership(
      loadKubernetesConfig({
        KUBECONFIG: '/unused',
        LOOKASIDE_K8S_SERVICES: 'echo=demo/echo',
        LOOKASIDE_K8S_DISCOVERY_NAMESPACES: 'demo',
        LOOKASIDE_K8S_BACKOFF_MIN_MS: '20',
        LOOKASIDE_K8S_BACKOFF_MAX_MS: '200',
      }),
      kubeConfigFor(server.url),
    );
    m.onChange((s) => changes.push(s));
  });

  after(async () => {
    await m.stop();
    await server.close();
  });

  it('treats every name as watched until discovery has synced, then only the labelled ones', async () => {
    m.start();
    assert.equal(m.watches('anything'), true);
    assert.equal(m.endpoints('anything'), undefined);
    await until(() => m.synced(), 'synced');
    await until(() => m.endpoints('web') !== undefined, 'web discovered');
    assert.equal(m.watches('anything'), false);
    assert.equal(m.watches('web'), true);
    assert.equal(m.watches('echo'), true);
    assert.equal(m.watches('plain'), false);
  });

  it('unions the labelled Services, each with its own port, and leaves explicit names alone', () => {
    assert.deepEqual(
      m.endpoints('web')!.map((e) => `${e.host}:${e.port}`).sort(),
      [...range(0, 4).map((e) => `${e.addresses[0]}:50051`), ...[10, 11, 12].map((i) => `${ip(i)}:7000`)].sort(),
    );
    assert.deepEqual(m.endpoints('echo')!.map((e) => e.host), [ip(20), ip(21)], 'a label cannot claim an explicit name');
    assert.deepEqual([...new Set(changes)].sort(), ['echo', 'web']);
  });

  it('drops a Service whose label is removed, and keeps an emptied name watched', async () => {
    const b = slice('web-b-1', 'web-b', range(10, 13));
    b.ports = [{ name: 'h2', port: 7000, protocol: 'TCP' }];
    server.apply(b); // no longer matches the selector: the watch sends DELETED
    await until(() => m.endpoints('web')!.length === 4, 'web-b gone');
    server.delete('demo', 'web-a-1');
    await until(() => m.endpoints('web')!.length === 0, 'web-a gone');
    assert.equal(m.watches('web'), true, 'still Kubernetes-backed: reports cannot take over');
  });

  it('picks up a newly labelled Service', async () => {
    server.apply(slice('api-1', 'api', range(60, 61), label('api')));
    await until(() => m.endpoints('api')?.length === 1, 'api discovered');
    assert.equal(m.watches('api'), true);
    assert.ok(changes.includes('api'));
  });
});
