import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Assignment__Output } from '../src/generated/lookaside/v1/Assignment.js';
import type { DiscoveryResponse__Output } from '../src/generated/envoy/service/discovery/v3/DiscoveryResponse.js';
import { MIN_ZONE_CALLS, zoneRow, zoneWeights, type ZonedBackend } from '../src/policy/zones.js';
import type { TokenCallStats } from '../src/store/types.js';
import { ENDPOINT_TYPE } from '../src/xds/resources.js';
import { startService, type RunningService } from './support/lookaside.js';
import { clients, type Clients } from './support/protos.js';
import { openReport, Recorded, steadyLoad } from './support/streams.js';
import { unpack } from './support/xds.js';

const calls = (started: number): TokenCallStats => ({ started, finished: started, failed: 0, dropped: 0 });

/** Client stats with `total` calls from everyone, of which `zoned[z]` came from clients in zone z. */
function stats(total: number, zoned: Record<string, number>): Record<string, TokenCallStats> {
  const rows: Record<string, TokenCallStats> = { someToken: calls(total) };
  for (const [zone, n] of Object.entries(zoned)) rows[zoneRow(zone)] = calls(n);
  return rows;
}

/** The share of a zone's weight that goes to its own backends. */
function localShare(backends: ZonedBackend[], weights: number[], zone: string): number {
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.reduce((sum, w, i) => sum + (backends[i].zone === zone ? w : 0), 0) / total;
}

describe('zone-aware weights (policy)', () => {
  const fleet: ZonedBackend[] = [
    { zone: 'a', weight: 1000 },
    { zone: 'a', weight: 1000 },
    { zone: 'b', weight: 1000 },
    { zone: 'b', weight: 1000 },
  ];

  it('keeps every zone local while its backends stay under the target', () => {
    const z = zoneWeights(fleet, stats(1000, { a: 500, b: 500 }), 0.5, 0.8, 1000);
    assert.deepEqual(z, { a: [1000, 1000, 0, 0], b: [0, 0, 1000, 1000] });
  });

  it('spills a busy zone\'s excess to the zone with headroom, and only the excess', () => {
    // Fleet at 60 %: zone a's clients want 54 % of the fleet, its backends take 40 % at 80 %.
    const z = zoneWeights(fleet, stats(1000, { a: 900, b: 100 }), 0.6, 0.8, 1000);
    assert.ok(Math.abs(localShare(fleet, z.a, 'a') - 0.4 / 0.54) < 0.01, `zone a keeps 74 %: ${z.a}`);
    assert.deepEqual(z.b, [0, 0, 1000, 1000], 'zone b is quiet: all local');
  });

  it('spills by capacity when no zone has headroom', () => {
    const z = zoneWeights(fleet, stats(1000, { a: 500, b: 500 }), 0.95, 0.8, 1000);
    assert.ok(Math.abs(localShare(fleet, z.a, 'a') - 0.4 / 0.475) < 0.01, `${z.a}`);
    assert.ok(z.a[2] > 0 && z.a[2] === z.a[3]);
  });

  it('sets aside the share of calls from clients that name no zone', () => {
    // Half the calls are unzoned and spread over both zones: 25 % of each zone's capacity.
    const z = zoneWeights(fleet, stats(1000, { a: 500 }), 0.5, 0.8, 1000);
    // Zone a's clients want 25 % of the fleet; zone a has 0.5 * (0.8 - 0.25) = 27.5 % left.
    assert.deepEqual(z.a, [1000, 1000, 0, 0]);
    const busier = zoneWeights(fleet, stats(1000, { a: 500 }), 0.7, 0.8, 1000);
    // Now a wants 35 % and has 0.5 * (0.8 - 0.35) = 22.5 %.
    assert.ok(Math.abs(localShare(fleet, busier.a, 'a') - 0.225 / 0.35) < 0.01, `${busier.a}`);
  });

  it('prefers nothing without enough calls, without load figures, or with a single zone', () => {
    assert.deepEqual(zoneWeights(fleet, stats(MIN_ZONE_CALLS - 1, { a: MIN_ZONE_CALLS - 1 }), 0.5, 0.8, 1000), {});
    assert.deepEqual(zoneWeights(fleet, stats(1000, { a: 500, b: 500 }), undefined, 0.8, 1000), {});
    const oneZone = fleet.map((b) => ({ ...b, zone: 'a' }));
    assert.deepEqual(zoneWeights(oneZone, stats(1000, { a: 1000 }), 0.5, 0.8, 1000), {});
    assert.deepEqual(zoneWeights(fleet, stats(1000, { elsewhere: 1000 }), 0.5, 0.8, 1000), {}, 'zones without backends are not demand for any');
  });
});

describe('zone-aware assignments, end to end', () => {
  let service: RunningService;
  let c: Clients;

  before(async () => {
    service = await startService({
      env: {
        LOOKASIDE_CLIENT_STATS_WINDOW_MS: '1000',
        LOOKASIDE_LOAD_PUSH_INTERVAL_MS: '100',
        LOOKASIDE_POLICY_BLACKOUT_MS: '0',
        LOOKASIDE_POLICY_SLOW_START_MS: '0',
      },
    });
    c = clients(service.grpcAddress);
  });
  after(async () => {
    c.close();
    await service.stop();
  });

  it('gives clients in a zone its backends once their calls show where demand is; others get every backend', async () => {
    const backends = [
      ['a', 8501],
      ['a', 8502],
      ['b', 8503],
      ['b', 8504],
    ] as const;
    const reports = backends.map(([zone, port]) => {
      const r = openReport(c);
      r.register('zoned', '127.0.0.1', port, { zone, load: steadyLoad(100, 0.3) });
      return r;
    });
    const tokens = (await Promise.all(reports.map((r) => r.registered()))).map((ack) => ack.loadBalanceToken);

    const zoned = c.assignments.Watch();
    const zonedSeen = new Recorded<Assignment__Output>(zoned);
    zoned.write({ start: { service: 'zoned', clientZone: 'a' } });
    const plain = c.assignments.Watch();
    const plainSeen = new Recorded<Assignment__Output>(plain);
    plain.write({ start: { service: 'zoned' } });
    const ads = c.ads.StreamAggregatedResources();
    const edsSeen = new Recorded<DiscoveryResponse__Output>(ads);
    ads.write({ node: { id: 'zoned-xds', locality: { zone: 'b' } }, typeUrl: ENDPOINT_TYPE, resourceNames: ['zoned'] });
    await zonedSeen.next('all four', (m) => m.backends.length === 4);

    // The zone-a client reports calls spread over every backend, as a client does before it
    // has a zone view; backends keep reporting so the policy runs again on the new window.
    const timer = setInterval(() => {
      zoned.write({ clientLoad: { tokens: tokens.map((t) => ({ loadBalanceToken: t, callsStarted: 100, callsFinished: 100, callsFailed: 0 })) } });
      reports.forEach((r) => r.report(steadyLoad(100, 0.3)));
    }, 200);
    try {
      const local = await zonedSeen.next('zone a only', (m) => m.backends.length === 2, 0, 8000);
      assert.deepEqual(local.backends.map((b) => b.zone), ['a', 'a']);
      assert.equal(local.backends[0].weight, local.backends[1].weight);
      // The unzoned client still gets the whole fleet.
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(plainSeen.messages.at(-1)!.backends.length, 4);
      // Zone b's xDS client: zone b has no zoned demand, so it is all local for it as well.
      const eds = await edsSeen.next('zone b localities', (m) => m.resources.length > 0 && endpointZones(m).length === 2, 0, 8000);
      assert.deepEqual(endpointZones(eds), ['b', 'b']);
    } finally {
      clearInterval(timer);
      reports.forEach((r) => r.stream.end());
      zoned.cancel();
      plain.cancel();
      ads.cancel();
    }
  });
});

/** The zones of the localities in an EDS response. */
function endpointZones(m: DiscoveryResponse__Output): string[] {
  return unpack(m.resources[0]).endpoints.map((e: { locality: { zone: string } }) => e.locality.zone);
}
