// Per-call load in the trailer: the hand-written codec against protobuf.js reading and writing
// the same proto (protos/xds/data/orca/v3), and a real backend's trailer. What the picker does
// with the figures: picker.test.ts.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Metadata } from '@grpc/grpc-js';
import { loadSync, type MessageTypeDefinition } from '@grpc/proto-loader';
import { readFileSync } from 'node:fs';
import { CALL_LOAD_TRAILER, decodeCallLoad, encodeCallLoad, REQUESTS_IN_FLIGHT_METRIC, type CallLoadFigures } from '../src/call-load-trailer.js';
import type { OrcaLoadReport, OrcaLoadReport__Output } from '../src/generated/xds/data/orca/v3/OrcaLoadReport.js';
import { BackendReporter } from '../src/index.js';
import { loaderOptions, protoDir } from '../src/protos.js';
import { echoClient, startBackend, type EchoClientInstance } from './support/backends.js';
import { FakeLookaside } from './support/fake-lookaside.js';

const loaderJson = JSON.parse(readFileSync(join(protoDir(), 'loader-options.json'), 'utf8')) as Record<string, unknown>;
const definition = loadSync(join(protoDir(), 'xds', 'data', 'orca', 'v3', 'orca_load_report.proto'), loaderOptions(loaderJson));
const ReportType = definition['xds.data.orca.v3.OrcaLoadReport'] as unknown as MessageTypeDefinition<OrcaLoadReport, OrcaLoadReport__Output>;

const figures = (): CallLoadFigures => ({ requestsInFlight: -1, utilization: -1 });

describe('call load trailer codec', () => {
  test('what it writes is an OrcaLoadReport protobuf.js reads: rif as a named metric, application utilization', () => {
    const report = ReportType.deserialize(encodeCallLoad(17, 0.625));
    assert.deepEqual(report.namedMetrics, { [REQUESTS_IN_FLIGHT_METRIC]: 17 });
    assert.equal(report.applicationUtilization, 0.625);
    assert.equal(ReportType.deserialize(encodeCallLoad(3, 0)).applicationUtilization, 0, 'no utilization: the field is left out');
  });

  test('reads reports other encoders write, skipping every field it does not use', () => {
    const bytes = ReportType.serialize({
      cpuUtilization: 0.3,
      memUtilization: 0.5,
      rps: 12,
      requestCost: { db: 4 },
      utilization: { gpu: 0.9 },
      rpsFractional: 99.5,
      eps: 1.5,
      namedMetrics: { queue: 3, [REQUESTS_IN_FLIGHT_METRIC]: 41, rig: 8, ri: 6, zz: 7 },
      applicationUtilization: 0.71,
    });
    const out = figures();
    assert.equal(decodeCallLoad(bytes, out), true);
    assert.deepEqual(out, { requestsInFlight: 41, utilization: 0.71 });
    const cpuOnly = figures();
    assert.equal(decodeCallLoad(ReportType.serialize({ cpuUtilization: 0.4 }), cpuOnly), true);
    assert.deepEqual(cpuOnly, { requestsInFlight: -1, utilization: 0.4 }, 'cpu stands in for application utilization; no rif said');
  });

  test('malformed bytes read as nothing, never as a figure', () => {
    const good = encodeCallLoad(5, 0.5);
    for (const bad of [good.subarray(0, good.length - 3), Buffer.from([0x42, 0x7f]), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]) {
      const out = figures();
      assert.equal(decodeCallLoad(bad, out), false, bad.toString('hex'));
      assert.deepEqual(out, { requestsInFlight: -1, utilization: -1 });
    }
    assert.equal(decodeCallLoad(Buffer.alloc(0), figures()), true, 'an empty report is well formed and says nothing');
  });
});

describe('call load from a real backend', () => {
  let lookaside: FakeLookaside;
  before(async () => {
    lookaside = await FakeLookaside.start();
    lookaside.reportResponse = { backendId: 'id', loadBalanceToken: 't', reportInterval: { seconds: 0, nanos: 100e6 } };
  });
  after(() => lookaside.stop());

  async function trailerOf(client: EchoClientInstance, payload: string): Promise<Buffer[]> {
    return new Promise((resolve, reject) => {
      const call = client.Call(Buffer.from(payload), new Metadata(), { deadline: Date.now() + 5000 }, (err) => err && reject(err)) as {
        on(event: 'status', listener: (s: { metadata: Metadata }) => void): void;
      };
      call.on('status', (s) => resolve(s.metadata.get(CALL_LOAD_TRAILER) as Buffer[]));
    });
  }

  for (const perCallLoad of [true, false]) {
    test(`the reporter ${perCallLoad ? 'puts' : 'with perCallLoad: false puts no'} requests in flight and utilization in each call's trailer`, async () => {
      const reporter = new BackendReporter({
        service: `trailer-${perCallLoad}`,
        lookasideAddress: lookaside.address,
        host: '127.0.0.1',
        applicationUtilization: () => 0.375,
        perCallLoad,
      });
      const backend = await startBackend('b', { interceptors: [reporter.interceptor] });
      reporter.attach(backend.server);
      reporter.start({ port: backend.port });
      const client = echoClient(backend.address);
      try {
        await reporter.whenRegistered(3000);
        await new Promise((r) => setTimeout(r, 250)); // a report or two: the utilization is sampled
        const held = [trailerOf(client, 'hold:400'), trailerOf(client, 'hold:400'), trailerOf(client, 'hold:400')];
        await new Promise((r) => setTimeout(r, 100));
        const quick = await trailerOf(client, 'x');
        if (!perCallLoad) {
          assert.equal(quick.length, 0);
          return;
        }
        assert.equal(quick.length, 1);
        const out = figures();
        assert.equal(decodeCallLoad(quick[0], out), true);
        assert.deepEqual(out, { requestsInFlight: 3, utilization: 0.375 }, 'the three held calls; the answered one is done');
        const last = await held[2];
        await Promise.all(held);
        decodeCallLoad(last[0], out);
        assert.ok(out.requestsInFlight <= 2, `as the held calls end: ${out.requestsInFlight}`);
      } finally {
        client.close();
        await reporter.stop();
        await backend.stop();
      }
    });
  }
});
