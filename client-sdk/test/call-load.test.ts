// Per-call load in the trailer: the hand-written codec against protobuf.js reading and writing
// the same proto (protos/xds/data/orca/v3), a real backend's trailer, and what the picker does
// with the figures.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { experimental, Metadata } from '@grpc/grpc-js';
import { loadSync, type MessageTypeDefinition } from '@grpc/proto-loader';
import { readFileSync } from 'node:fs';
import { CALL_LOAD_TRAILER, decodeCallLoad, encodeCallLoad, REQUESTS_IN_FLIGHT_METRIC, type CallLoadFigures } from '../src/call-load-trailer.js';
import type { OrcaLoadReport, OrcaLoadReport__Output } from '../src/generated/xds/data/orca/v3/OrcaLoadReport.js';
import { BackendReporter } from '../src/index.js';
import { CallLoad, FAILURE_SCORE_PENALTY, REMOTE_LOAD_FRESH_MS, WeightedPicker, type PickTarget } from '../src/picker.js';
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
      namedMetrics: { queue: 3, [REQUESTS_IN_FLIGHT_METRIC]: 41, zz: 7 },
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

describe('call load in the picker', () => {
  function target(name: string, load: CallLoad): PickTarget {
    const result = {
      pickResultType: experimental.PickResultType.COMPLETE,
      subchannel: { name } as unknown as experimental.SubchannelInterface,
      status: null,
      onCallStarted: null,
      onCallEnded: null,
    };
    return { result, token: '', weight: 1, load };
  }
  function split(picker: WeightedPicker, n: number): Map<string, number> {
    const seen = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const r = picker.pick({ metadata: new Metadata(), extraPickInfo: {} }) as unknown as { subchannel: { name: string } };
      seen.set(r.subchannel.name, (seen.get(r.subchannel.name) ?? 0) + 1);
    }
    return seen;
  }

  test("other clients' calls on a backend, as its trailer says, steer this client's calls away until the figure fades", () => {
    let now = 1000;
    const busy = new CallLoad();
    const idle = new CallLoad();
    const picker = new WeightedPicker([target('busy', busy), target('idle', idle)], null, () => 0, () => now);
    busy.observed(12, 0.9, now);
    assert.equal(busy.inFlightAt(now), 12);
    assert.equal(split(picker, 100).get('busy') ?? 0, 0, 'EDF alone would give it half');
    now += REMOTE_LOAD_FRESH_MS / 2;
    assert.equal(busy.inFlightAt(now), 6, 'half faded');
    now += REMOTE_LOAD_FRESH_MS;
    assert.equal(busy.inFlightAt(now), 0);
    const later = split(picker, 100).get('busy') ?? 0;
    assert.ok(later >= 45 && later <= 55, `back to its share once the figure is stale: ${later}`);
  });

  test("this client's own calls are not counted twice: the trailer's count covers them", () => {
    const load = new CallLoad();
    load.started(0);
    load.started(0);
    load.observed(5, -1, 0);
    assert.equal(load.inFlightAt(0), 5);
    load.observed(1, -1, 0);
    assert.equal(load.inFlightAt(0), 2, 'a backend that has not seen our newest calls yet: never below our own count');
  });

  test('failures count against a backend only while the other candidate has room (target utilization)', () => {
    const flaky = new CallLoad();
    for (let i = 0; i < 20; i++) flaky.ended(i % 2 === 0, 0);
    assert.ok(flaky.failureRate > 0.4);
    const roomy = new CallLoad();
    roomy.observed(0, 0.3, 0);
    const avoided = split(new WeightedPicker([target('flaky', flaky), target('other', roomy)], null, () => 0, () => 0), 100).get('flaky') ?? 0;
    assert.ok(avoided <= 10, `the other at 30 %: the flaky one avoided (${avoided})`);
    const full = new CallLoad();
    full.observed(0, 0.95, 0);
    const kept = split(new WeightedPicker([target('flaky', flaky), target('other', full)], null, () => 0, () => 0), 100).get('flaky') ?? 0;
    assert.equal(kept, 50, 'the other at 95 %: the flaky one keeps its share');
    const withTarget = new WeightedPicker([target('flaky', flaky), target('other', full)], null, () => 0, () => 0, 0.99);
    assert.ok((split(withTarget, 100).get('flaky') ?? 0) <= 10, 'a target of 0.99 leaves room at 95 %');
    assert.ok(flaky.score(1, 0, 1, true) - flaky.score(1, 0, 1, false) > FAILURE_SCORE_PENALTY * 0.4);
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
