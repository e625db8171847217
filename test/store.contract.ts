import assert from 'node:assert/strict';
import { describe, it, before, after } from 'node:test';
import type { BackendIdentity, ChangeEvent, LoadSample, RegistryStore } from '../src/store/types.js';
import { waitFor } from './support/ports.js';

export const STATS_WINDOW_MS = 300;

export interface StoreFixture {
  /** A store over the shared state; a second call gives another "replica" of it. */
  open(): Promise<RegistryStore>;
  teardown(): Promise<void>;
}

const load = (rps: number, cpu = 0.5): LoadSample => ({
  cpuUtilization: cpu,
  memUtilization: 0.2,
  applicationUtilization: 0,
  rpsFractional: rps,
  eps: 0,
  requestsInFlight: 3,
  namedMetrics: { queue: 2 },
});

let serial = 0;
function backend(service: string, port: number, session = `s-${++serial}`): BackendIdentity {
  return {
    service,
    id: `10.0.0.1:${port}`,
    host: '10.0.0.1',
    port,
    zone: 'zone-a',
    labels: { version: 'v1' },
    token: `tok${port}`,
    session,
  };
}

function collect(store: RegistryStore, service: string) {
  const events: ChangeEvent[] = [];
  const ready = store.subscribe(service, (e) => events.push(e));
  return { events, ready };
}

/** One suite, run against every store: both must behave the same. */
export function storeContract(name: string, makeFixture: () => Promise<StoreFixture>): void {
  describe(`${name}: store contract`, () => {
    let fixture: StoreFixture;
    let store: RegistryStore;
    let svc = 0;
    const service = () => `svc-${name.replace(/\W/g, '')}-${++svc}`;

    before(async () => {
      fixture = await makeFixture();
      store = await fixture.open();
    });
    after(async () => {
      await store.close();
      await fixture.teardown();
    });

    it('registers a backend, lists it and announces a membership change', async () => {
      const s = service();
      const { events, ready } = collect(store, s);
      await ready;
      const b = backend(s, 8001);
      const outcome = await store.register(b, 'SERVING', load(10), 3000, 100);
      assert.equal(outcome.result, 'registered');
      const snap = await store.snapshot(s);
      assert.equal(snap.backends.length, 1);
      assert.deepEqual(
        { ...snap.backends[0], lastReportMs: 0 },
        { ...b, state: 'SERVING', load: load(10), lastReportMs: 0 },
      );
      assert.ok(Math.abs(snap.backends[0].lastReportMs - Date.now()) < 5000, 'lastReportMs is a unix time in ms');
      assert.equal(snap.version, outcome.result === 'registered' ? outcome.version : -1);
      await waitFor('membership event', () => (events.length === 1 ? true : undefined));
      assert.equal(events[0].kind, 'membership');
      assert.equal(events[0].service, s);
      assert.equal(events[0].version, snap.version);
      assert.ok((await store.listServices()).includes(s));
    });

    it('takes reports: load-only is a load change, a state change is a membership change', async () => {
      const s = service();
      const b = backend(s, 8002);
      await store.register(b, 'SERVING', null, 3000, 100);
      assert.equal((await store.snapshot(s)).backends[0].load, null, 'no load before the first report');
      const { events, ready } = collect(store, s);
      await ready;
      assert.equal(await store.report(s, b.id, b.session, 'SERVING', load(42), 3000), 'accepted');
      assert.equal(await store.report(s, b.id, b.session, 'DRAINING', load(40), 3000), 'accepted');
      await waitFor('two events', () => (events.length === 2 ? true : undefined));
      assert.deepEqual(
        events.map((e) => e.kind),
        ['load', 'membership'],
      );
      assert.ok(events[1].version > events[0].version, 'versions increase');
      const snap = await store.snapshot(s);
      assert.equal(snap.backends[0].state, 'DRAINING');
      assert.equal(snap.backends[0].load?.rpsFractional, 40);
    });

    it('rejects reports from an unknown backend or a superseded stream', async () => {
      const s = service();
      const old = backend(s, 8003, 'old-session');
      await store.register(old, 'SERVING', null, 3000, 100);
      assert.equal(await store.report(s, '10.9.9.9:1', 'x', 'SERVING', load(1), 3000), 'lease-lost');
      const fresh = { ...old, session: 'new-session' };
      await store.register(fresh, 'SERVING', null, 3000, 100);
      assert.equal(await store.report(s, old.id, old.session, 'SERVING', load(1), 3000), 'superseded');
      assert.equal(await store.deregister(s, old.id, old.session), false, 'an old stream cannot remove the new one');
      assert.equal((await store.snapshot(s)).backends.length, 1);
      assert.equal(await store.report(s, old.id, fresh.session, 'SERVING', load(5), 3000), 'accepted');
    });

    it('deregisters once and says which backend went', async () => {
      const s = service();
      const b = backend(s, 8004);
      await store.register(b, 'SERVING', null, 3000, 100);
      const { events, ready } = collect(store, s);
      await ready;
      assert.equal(await store.deregister(s, b.id, b.session), true);
      assert.equal(await store.deregister(s, b.id, b.session), false);
      assert.deepEqual((await store.snapshot(s)).backends, []);
      await waitFor('removal event', () => (events.length === 1 ? true : undefined));
      assert.deepEqual(events[0].removed, [b.id]);
    });

    it('expires a silent lease exactly once, whichever replica looks first', async () => {
      const s = service();
      const replica = await fixture.open();
      try {
        const stays = backend(s, 8005);
        const silent = backend(s, 8006);
        await store.register(stays, 'SERVING', null, 60_000, 100);
        await store.register(silent, 'SERVING', null, 150, 100);
        const { events, ready } = collect(store, s);
        await ready;
        assert.deepEqual(
          (await Promise.all([store.expireLeases(), replica.expireLeases()])).flat().filter((e) => e.service === s),
          [],
          'nothing expires before the TTL',
        );
        await new Promise((r) => setTimeout(r, 250));
        const removed = (await Promise.all([store.expireLeases(), replica.expireLeases(), store.expireLeases()]))
          .flat()
          .filter((e) => e.service === s);
        assert.deepEqual(removed, [{ service: s, id: silent.id }]);
        await waitFor('expiry event', () => (events.length >= 1 ? true : undefined));
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(events.length, 1, 'exactly one removal event');
        assert.deepEqual(events[0].removed, [silent.id]);
        assert.deepEqual(
          (await store.snapshot(s)).backends.map((b) => b.id),
          [stays.id],
        );
      } finally {
        if (replica !== store) await replica.close();
      }
    });

    it('a report renews the lease', async () => {
      const s = service();
      const b = backend(s, 8007);
      await store.register(b, 'SERVING', null, 200, 100);
      for (let i = 0; i < 4; i++) {
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(await store.report(s, b.id, b.session, 'SERVING', load(1), 200), 'accepted');
        await store.expireLeases();
      }
      assert.equal((await store.snapshot(s)).backends.length, 1);
    });

    it('refuses a backend past the per-service maximum', async () => {
      const s = service();
      await store.register(backend(s, 8010), 'SERVING', null, 3000, 2);
      await store.register(backend(s, 8011), 'SERVING', null, 3000, 2);
      assert.deepEqual(await store.register(backend(s, 8012), 'SERVING', null, 3000, 2), { result: 'full' });
      const again = await store.register(backend(s, 8011, 'reconnect'), 'SERVING', null, 3000, 2);
      assert.equal(again.result, 'registered', 're-registering a listed backend is not a new one');
      assert.equal((await store.snapshot(s)).backends.length, 2);
    });

    it('sums client stats from every replica into the last complete window', async () => {
      const s = service();
      const replica = await fixture.open();
      try {
        const window = () => Math.floor(Date.now() / STATS_WINDOW_MS);
        // Start right after a window boundary so both adds land in the same window.
        const start = window();
        await waitFor('a new window', () => (window() > start ? true : undefined), 2000, 2);
        const first = window();
        const counts = (n: number) => ({ started: n, finished: n, failed: 1, dropped: 0 });
        await store.addClientStats(new Map([[s, new Map([['tokA', counts(5)]])]]));
        await replica.addClientStats(new Map([[s, new Map([['tokA', counts(7)], ['tokB', counts(2)]])]]));
        assert.deepEqual((await store.snapshot(s)).clientStats, {}, 'the window being filled is not reported yet');
        await waitFor('the next window', () => (window() > first ? true : undefined), 2000, 2);
        const stats = (await store.snapshot(s)).clientStats;
        assert.deepEqual(stats.tokA, { started: 12, finished: 12, failed: 2, dropped: 0 });
        assert.deepEqual(stats.tokB, { started: 2, finished: 2, failed: 1, dropped: 0 });
      } finally {
        if (replica !== store) await replica.close();
      }
    });

    it('stores the Kubernetes view idempotently: only a real change is versioned and announced', async () => {
      const s = service();
      const replica = await fixture.open();
      try {
        const member = (host: string, ready = true) => ({
          host,
          port: 50051,
          ready,
          serving: ready,
          terminating: false,
          zone: 'z1',
          nodeName: 'n1',
          podName: `pod-${host}`,
        });
        const { events, ready } = collect(store, s);
        await ready;
        assert.equal((await store.snapshot(s)).cluster, null, 'no view outside cluster mode');
        const view = [member('10.0.0.1'), member('10.0.0.2', false)];
        const writes = await Promise.all([store.setClusterMembers(s, view), replica.setClusterMembers(s, structuredClone(view))]);
        assert.equal(writes.filter(Boolean).length, 1, 'two replicas writing the same view: one change');
        await waitFor('one event', () => (events.length === 1 ? true : undefined));
        assert.deepEqual((await replica.snapshot(s)).cluster, view);
        const version = (await store.snapshot(s)).version;
        assert.equal(await store.setClusterMembers(s, structuredClone(view)), false);
        assert.equal((await store.snapshot(s)).version, version, 'rewriting the same view changes nothing');
        assert.equal(await store.setClusterMembers(s, [member('10.0.0.1')]), true);
        assert.ok((await store.snapshot(s)).version > version);
        assert.equal(await store.setClusterMembers(s, null), true);
        assert.equal((await store.snapshot(s)).cluster, null);
        assert.ok((await store.listServices()).includes(s));
      } finally {
        if (replica !== store) await replica.close();
      }
    });

    it('stops delivering after unsubscribe', async () => {
      const s = service();
      const events: ChangeEvent[] = [];
      const unsubscribe = await store.subscribe(s, (e) => events.push(e));
      await store.register(backend(s, 8020), 'SERVING', null, 3000, 100);
      await waitFor('first event', () => (events.length === 1 ? true : undefined));
      await unsubscribe();
      await store.register(backend(s, 8021), 'SERVING', null, 3000, 100);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(events.length, 1);
    });
  });
}
