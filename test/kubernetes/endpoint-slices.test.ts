import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { mergeSlices, resolveSlicePort, sameEndpoints, unionEndpoints } from '../../src/kubernetes/endpoint-slices.js';

function s(name: string, body: Partial<V1EndpointSlice>): V1EndpointSlice {
  return { metadata: { name, namespace: 'demo' }, addressType: 'IPv4', endpoints: [], ...body } as V1EndpointSlice;
}

const grpc = [{ name: 'grpc', port: 50051, protocol: 'TCP' }];

describe('mergeSlices', () => {
  it('unions every slice, sorted by host then port, one entry per address', () => {
    const merged = mergeSlices(
      [
        s('b', { ports: grpc, endpoints: [{ addresses: ['10.0.0.3'] }, { addresses: ['10.0.0.1'] }] }),
        s('a', { ports: grpc, endpoints: [{ addresses: ['10.0.0.2'] }] }),
        s('c', { ports: grpc, endpoints: [{ addresses: ['10.0.0.1'] }] }), // duplicate during a move
      ],
      'grpc',
    );
    assert.deepEqual(
      merged.map((e) => `${e.host}:${e.port}`),
      ['10.0.0.1:50051', '10.0.0.2:50051', '10.0.0.3:50051'],
    );
  });

  it('applies the nil rules of conditions: ready nil = true, serving nil = ready, terminating nil = false', () => {
    const [a, b, c] = mergeSlices(
      [
        s('x', {
          ports: grpc,
          endpoints: [
            { addresses: ['10.0.0.1'] },
            { addresses: ['10.0.0.2'], conditions: { ready: false } },
            { addresses: ['10.0.0.3'], conditions: { ready: false, serving: true, terminating: true } },
          ],
        }),
      ],
      'grpc',
    );
    assert.deepEqual([a.ready, a.serving, a.terminating], [true, true, false]);
    assert.deepEqual([b.ready, b.serving, b.terminating], [false, false, false]);
    assert.deepEqual([c.ready, c.serving, c.terminating], [false, true, true]);
  });

  it('keeps zone, nodeName and the pod name', () => {
    const [e] = mergeSlices(
      [
        s('x', {
          ports: grpc,
          endpoints: [{ addresses: ['10.0.0.1'], zone: 'z1', nodeName: 'n1', targetRef: { kind: 'Pod', name: 'p1' } }],
        }),
      ],
      'grpc',
    );
    assert.deepEqual(e, {
      host: '10.0.0.1',
      port: 50051,
      ready: true,
      serving: true,
      terminating: false,
      zone: 'z1',
      nodeName: 'n1',
      podName: 'p1',
      namespace: 'demo',
      serviceAccount: '',
    });
  });

  it("reads the slice's namespace and the service-account label (the Service's labels are copied onto its slices)", () => {
    const label = 'lookaside.io/service-account';
    const labelled = (name: string, namespace: string, labels: Record<string, string>, address: string): V1EndpointSlice =>
      ({ metadata: { name, namespace, labels }, addressType: 'IPv4', ports: grpc, endpoints: [{ addresses: [address] }] }) as V1EndpointSlice;
    const slices = [
      labelled('echo-1', 'shop', { [label]: 'echo-sa' }, '10.0.0.1'),
      labelled('echo-2', 'shop', {}, '10.0.0.2'),
      labelled('echo-3', 'prod', { [label]: 'other-sa' }, '10.0.0.3'),
    ];
    assert.deepEqual(
      mergeSlices(slices, 'grpc', { serviceAccountLabel: label }).map((e) => [e.host, e.namespace, e.serviceAccount]),
      [
        ['10.0.0.1', 'shop', 'echo-sa'],
        ['10.0.0.2', 'shop', ''],
        ['10.0.0.3', 'prod', 'other-sa'],
      ],
    );
    assert.deepEqual(
      mergeSlices(slices, 'grpc').map((e) => e.serviceAccount),
      ['', '', ''],
      'no label configured: no service account',
    );
  });

  it('prefers the ready copy of an address listed twice, whatever the slice order', () => {
    const notReady = s('a', { ports: grpc, endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: false } }] });
    const ready = s('b', { ports: grpc, endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true } }] });
    assert.equal(mergeSlices([notReady, ready], 'grpc')[0].ready, true);
    assert.equal(mergeSlices([ready, notReady], 'grpc')[0].ready, true);
  });

  it('resolves the port by name per slice (named target ports may differ between pods)', () => {
    const merged = mergeSlices(
      [
        s('a', { ports: [{ name: 'grpc', port: 9000, protocol: 'TCP' }], endpoints: [{ addresses: ['10.0.0.1'] }] }),
        s('b', { ports: [{ name: 'grpc', port: 9001, protocol: 'TCP' }], endpoints: [{ addresses: ['10.0.0.2'] }] }),
        s('c', { ports: [{ name: 'http', port: 80, protocol: 'TCP' }], endpoints: [{ addresses: ['10.0.0.3'] }] }),
      ],
      'grpc',
    );
    assert.deepEqual(merged.map((e) => `${e.host}:${e.port}`), ['10.0.0.1:9000', '10.0.0.2:9001']);
  });

  it('ignores slices of another address type and FQDN slices', () => {
    const slices = [
      s('v4', { ports: grpc, endpoints: [{ addresses: ['10.0.0.1'] }] }),
      s('v6', { addressType: 'IPv6', ports: grpc, endpoints: [{ addresses: ['fd00::1'] }] }),
      s('dns', { addressType: 'FQDN', ports: grpc, endpoints: [{ addresses: ['a.example'] }] }),
    ];
    assert.deepEqual(mergeSlices(slices, 'grpc').map((e) => e.host), ['10.0.0.1']);
    assert.deepEqual(mergeSlices(slices, 'grpc', { addressType: 'IPv6' }).map((e) => e.host), ['fd00::1']);
  });

  it('returns [] for no slices, and for slices with no endpoints', () => {
    assert.deepEqual(mergeSlices([], 'grpc'), []);
    assert.deepEqual(mergeSlices([s('a', { ports: grpc, endpoints: undefined as never })], 'grpc'), []);
  });
});

describe('resolveSlicePort', () => {
  const two = { ports: [{ name: 'metrics', port: 9090 }, { name: 'grpc', port: 50051 }] };
  const one = { ports: [{ name: '', port: 8443 }] };
  it('matches an explicit name strictly', () => {
    assert.equal(resolveSlicePort(two, 'grpc'), 50051);
    assert.equal(resolveSlicePort(two, 'http'), undefined);
    assert.equal(resolveSlicePort(one, 'grpc'), undefined);
    assert.equal(resolveSlicePort(one, ''), 8443, "an unnamed port is named ''");
  });
  it('falls back to the only port when no name was configured', () => {
    assert.equal(resolveSlicePort(one, { name: 'grpc', strict: false }), 8443);
    assert.equal(resolveSlicePort(two, { name: 'grpc', strict: false }), 50051);
    assert.equal(resolveSlicePort({ ports: [{ name: 'a', port: 1 }, { name: 'b', port: 2 }] }, { name: 'grpc', strict: false }), undefined);
  });
  it('skips UDP ports and "all ports" (nil port)', () => {
    assert.equal(resolveSlicePort({ ports: [{ name: 'grpc', port: 50051, protocol: 'UDP' }] }, 'grpc'), undefined);
    assert.equal(resolveSlicePort({ ports: [{ name: 'grpc' }] }, 'grpc'), undefined);
  });
});

describe('unionEndpoints and sameEndpoints', () => {
  const e = (host: string, ready = true, serviceAccount = '') => ({
    host,
    port: 1,
    ready,
    serving: ready,
    terminating: false,
    zone: '',
    nodeName: '',
    podName: '',
    namespace: 'demo',
    serviceAccount,
  });
  it('unions lists with the same duplicate rule', () => {
    const u = unionEndpoints([[e('10.0.0.2'), e('10.0.0.1', false)], [e('10.0.0.1')]]);
    assert.deepEqual(u.map((x) => [x.host, x.ready]), [['10.0.0.1', true], ['10.0.0.2', true]]);
  });
  it('compares field by field', () => {
    assert.equal(sameEndpoints([e('a')], [e('a')]), true);
    assert.equal(sameEndpoints([e('a')], [e('a', false)]), false);
    assert.equal(sameEndpoints([e('a', true, 'sa-1')], [e('a', true, 'sa-2')]), false, 'the service account counts');
    assert.equal(sameEndpoints([e('a')], [{ ...e('a'), namespace: 'prod' }]), false, 'the namespace counts');
    assert.equal(sameEndpoints(undefined, []), false);
    assert.equal(sameEndpoints(undefined, undefined), true);
  });
});
