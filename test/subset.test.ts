import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Assignment__Output } from '../src/generated/lookaside/v1/Assignment.js';
import type { LoadBalanceResponse__Output } from '../src/generated/grpc/lb/v1/LoadBalanceResponse.js';
import { Subsets, SubsetSlots } from '../src/policy/subset.js';
import { startService, type RunningService } from './support/lookaside.js';
import { clients, type Clients } from './support/protos.js';
import { openReport, Recorded, steadyLoad } from './support/streams.js';

const ids = (n: number) => Array.from({ length: n }, (_, i) => `10.0.${Math.floor(i / 250)}.${i % 250}:8080`);

describe('deterministic subsetting', () => {
  it('gives every backend the same number of clients, within one', () => {
    const subsets = new Subsets(ids(200), 20);
    const clientsPer = new Array(200).fill(0);
    for (let client = 0; client < 500; client++) {
      const subset = subsets.of(client);
      assert.equal(subset.length, 20);
      assert.equal(new Set(subset).size, 20, 'no backend twice');
      for (const b of subset) clientsPer[b]++;
    }
    assert.ok(Math.max(...clientsPer) - Math.min(...clientsPer) <= 1, `clients per backend: ${Math.min(...clientsPer)} to ${Math.max(...clientsPer)}`);
  });

  it('is the same on every replica and moves most clients by one backend at most when one joins', () => {
    const before = new Subsets(ids(200), 20);
    const again = new Subsets(ids(200), 20);
    const grown = new Subsets([...ids(200), '10.9.9.9:8080'], 20);
    let unchanged = 0;
    let moved = 0;
    for (let client = 0; client < 500; client++) {
      assert.deepEqual(before.of(client), again.of(client));
      const was = new Set(before.of(client).map((i) => ids(200)[i]));
      const now = grown.of(client).map((i) => [...ids(200), '10.9.9.9:8080'][i]);
      const lost = now.filter((id) => !was.has(id)).length;
      if (lost === 0) unchanged++;
      if (lost > 1) moved++;
    }
    assert.equal(moved, 0, 'no client changes more than one backend');
    assert.ok(unchanged > 0);
  });

  it('is off when the fleet fits in one subset', () => {
    assert.equal(new Subsets(ids(10), 20).active, false);
    assert.equal(new Subsets(ids(30), 0).active, false);
  });

  it('numbers clients densely: a freed number is reused, a number is released once', () => {
    const slots = new SubsetSlots();
    const a = slots.claim('svc');
    const b = slots.claim('svc');
    assert.deepEqual([a.index, b.index], [0, 1]);
    a.release();
    a.release();
    const c = slots.claim('svc');
    assert.equal(c.index, 0);
    assert.equal(slots.claim('svc').index, 2, 'the second release of a did not free c');
    assert.equal(slots.claim('other').index, 0, 'per service');
  });
});

describe('subsetting, end to end', () => {
  let service: RunningService;
  let c: Clients;

  before(async () => {
    service = await startService({ env: { LOOKASIDE_SUBSET_SIZE: '2', LOOKASIDE_POLICY_BLACKOUT_MS: '0', LOOKASIDE_POLICY_SLOW_START_MS: '0' } });
    c = clients(service.grpcAddress);
  });
  after(async () => {
    c.close();
    await service.stop();
  });

  it('gives each Watch and BalanceLoad client two of four backends, the first two clients disjoint ones', async () => {
    const reports = [8601, 8602, 8603, 8604].map((port) => {
      const r = openReport(c);
      r.register('subsetted', '127.0.0.1', port, { load: steadyLoad(100, 0.3) });
      return r;
    });
    await Promise.all(reports.map((r) => r.registered()));
    const watches = [0, 1].map(() => {
      const stream = c.assignments.Watch();
      const seen = new Recorded<Assignment__Output>(stream);
      stream.write({ start: { service: 'subsetted' } });
      return { stream, seen };
    });
    const [first, second] = await Promise.all(watches.map((w) => w.seen.next('a subset', (m) => m.backends.length > 0)));
    assert.equal(first.backends.length, 2);
    assert.equal(second.backends.length, 2);
    const ports = [...first.backends, ...second.backends].map((b) => b.port).sort();
    assert.deepEqual(ports, [8601, 8602, 8603, 8604], 'one round covers every backend once');

    const grpclb = c.loadBalancer.BalanceLoad();
    const lists = new Recorded<LoadBalanceResponse__Output>(grpclb);
    grpclb.write({ initialRequest: { name: 'subsetted' } });
    const list = await lists.next('a server list', (m) => !!m.serverList);
    assert.equal(new Set(list.serverList!.servers.map((s) => s.port)).size, 2);
    grpclb.cancel();
    watches.forEach((w) => w.stream.cancel());
    reports.forEach((r) => r.stream.end());
  });
});
