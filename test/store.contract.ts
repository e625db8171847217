import assert from 'node:assert/strict';
import { describe, it, before, after } from 'node:test';
import type { BackendIdentity, BackendState, ChangeEvent, LoadSample, RegistryStore, Sample } from '../src/store/types.js';
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

const sample = (l: LoadSample | null = null, state: BackendState = 'SERVING'): Sample => ({
  state,
  load: l,
  smoothed: l ? { utilization: l.cpuUtilization, rps: l.rpsFractional, eps: l.eps, requestsInFlight: l.requestsInFlight } : null,
  recent: l ? { calls: l.rpsFractional / 2, failed: 1, rps: l.rpsFractional, utilization: l.cpuUtilization } : null,
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
    principal: '',
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
      const outcome = await store.register(b, sample(load(10)), 3000, 100);
      assert.equal(outcome.result, 'registered');
      const snap = await store.snapshot(s);
      assert.equal(snap.backends.length, 1);
      assert.deepEqual(
        { ...snap.backends[0], lastReportMs: 0, registeredAtMs: 0 },
        { ...b, ...sample(load(10)), lastReportMs: 0, registeredAtMs: 0, ejection: null },
      );
      assert.ok(Math.abs(snap.backends[0].lastReportMs - Date.now()) < 5000, 'lastReportMs is a unix time in ms');
      assert.equal(snap.backends[0].registeredAtMs, snap.backends[0].lastReportMs);
      assert.ok(Math.abs(snap.nowMs - Date.now()) < 5000, 'the snapshot carries the store clock');
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
      await store.register(b, sample(null), 3000, 100);
      assert.equal((await store.snapshot(s)).backends[0].load, null, 'no load before the first report');
      const { events, ready } = collect(store, s);
      await ready;
      assert.equal(await store.report(s, b.id, b.session, sample(load(42), 'SERVING'), 3000, false), 'accepted');
      assert.equal(await store.report(s, b.id, b.session, sample(load(40), 'DRAINING'), 3000, false), 'accepted');
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
      await store.register(old, sample(null), 3000, 100);
      assert.equal(await store.report(s, '10.9.9.9:1', 'x', sample(load(1), 'SERVING'), 3000, false), 'lease-lost');
      const fresh = { ...old, session: 'new-session' };
      await store.register(fresh, sample(null), 3000, 100);
      assert.equal(await store.report(s, old.id, old.session, sample(load(1), 'SERVING'), 3000, false), 'superseded');
      assert.equal(await store.deregister(s, old.id, old.session), false, 'an old stream cannot remove the new one');
      assert.equal((await store.snapshot(s)).backends.length, 1);
      assert.equal(await store.report(s, old.id, fresh.session, sample(load(5), 'SERVING'), 3000, false), 'accepted');
    });

    it('keeps the first registration time while a backend stays listed', async () => {
      const s = service();
      const b = backend(s, 8030);
      await store.register(b, sample(), 3000, 100);
      const first = (await store.snapshot(s)).backends[0].registeredAtMs;
      await new Promise((r) => setTimeout(r, 20));
      await store.register({ ...b, session: 'reconnected' }, sample(), 3000, 100);
      const again = (await store.snapshot(s)).backends[0];
      assert.equal(again.registeredAtMs, first, 'a reconnect is not a new backend');
      assert.ok(again.lastReportMs > first);
      await store.deregister(s, b.id, 'reconnected');
      await new Promise((r) => setTimeout(r, 20));
      await store.register(b, sample(), 3000, 100);
      assert.ok((await store.snapshot(s)).backends[0].registeredAtMs > first, 'after a removal it starts afresh');
    });

    it('announces an urgent report as a membership change', async () => {
      const s = service();
      const b = backend(s, 8031);
      await store.register(b, sample(), 3000, 100);
      const { events, ready } = collect(store, s);
      await ready;
      assert.equal(await store.report(s, b.id, b.session, sample(load(5)), 3000, true), 'accepted');
      await waitFor('event', () => (events.length === 1 ? true : undefined));
      assert.equal(events[0].kind, 'membership');
    });

    it('ejects once, doubles each ejection in a row, and bounds how many are out', async () => {
      const s = service();
      const replica = await fixture.open();
      try {
        const rules = { baseMs: 200, maxMs: 10_000, resetAfterMs: 60_000, maxEjected: 1 };
        const [a, b] = [backend(s, 8040), backend(s, 8041)];
        await store.register(a, sample(), 60_000, 100);
        await store.register(b, sample(), 60_000, 100);
        const { events, ready } = collect(store, s);
        await ready;
        const tries = await Promise.all([store.eject(s, a.id, rules), replica.eject(s, a.id, rules)]);
        assert.equal(tries.filter(Boolean).length, 1, 'two replicas proposing the same ejection: one ejection');
        await waitFor('event', () => (events.length === 1 ? true : undefined));
        assert.equal(events[0].kind, 'membership');
        let snap = await store.snapshot(s);
        const first = snap.backends.find((x) => x.id === a.id)!.ejection!;
        assert.equal(first.count, 1);
        assert.ok(first.untilMs - snap.nowMs > 100 && first.untilMs - snap.nowMs <= 200);
        assert.equal(await store.eject(s, b.id, rules), false, 'at most maxEjected out at once');
        assert.equal(snap.backends.find((x) => x.id === b.id)!.ejection, null);
        await new Promise((r) => setTimeout(r, 250));
        assert.equal(await store.eject(s, a.id, rules), true, 'out again after its ejection ended');
        snap = await store.snapshot(s);
        const second = snap.backends.find((x) => x.id === a.id)!.ejection!;
        assert.equal(second.count, 2);
        assert.ok(second.untilMs - snap.nowMs > 300, 'the second ejection in a row lasts twice as long');
        assert.equal(await store.eject(s, '10.9.9.9:1', rules), false, 'an unknown backend cannot be ejected');
        await store.deregister(s, a.id, a.session);
        await store.register(a, sample(), 60_000, 100);
        assert.equal((await store.snapshot(s)).backends.find((x) => x.id === a.id)!.ejection, null, 'removal forgets ejections');
      } finally {
        if (replica !== store) await replica.close();
      }
    });

    it('deregisters once and says which backend went', async () => {
      const s = service();
      const b = backend(s, 8004);
      await store.register(b, sample(null), 3000, 100);
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
        await store.register(stays, sample(null), 60_000, 100);
        await store.register(silent, sample(null), 150, 100);
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
      await store.register(b, sample(null), 200, 100);
      for (let i = 0; i < 4; i++) {
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(await store.report(s, b.id, b.session, sample(load(1), 'SERVING'), 200, false), 'accepted');
        await store.expireLeases();
      }
      assert.equal((await store.snapshot(s)).backends.length, 1);
    });

    it('refuses a backend past the per-service maximum', async () => {
      const s = service();
      await store.register(backend(s, 8010), sample(), 3000, 2);
      await store.register(backend(s, 8011), sample(), 3000, 2);
      assert.deepEqual(await store.register(backend(s, 8012), sample(), 3000, 2), { result: 'full' });
      const again = await store.register(backend(s, 8011, 'reconnect'), sample(), 3000, 2);
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
      await store.register(backend(s, 8020), sample(), 3000, 100);
      await waitFor('first event', () => (events.length === 1 ? true : undefined));
      await unsubscribe();
      await store.register(backend(s, 8021), sample(), 3000, 100);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(events.length, 1);
    });

    it('keeps an address to the principal that registered it while it is listed', async () => {
      const s = service();
      const mine = { ...backend(s, 8030), principal: 'token:a' };
      assert.equal((await store.register(mine, sample(), 3000, 100)).result, 'registered');
      const theirs = { ...mine, session: 'other', principal: 'token:b' };
      assert.deepEqual(await store.register(theirs, sample(), 3000, 100), { result: 'owned', principal: 'token:a' });
      const snap = await store.snapshot(s);
      assert.equal(snap.backends.length, 1);
      assert.equal(snap.backends[0].principal, 'token:a', 'the refused registration changed nothing');
      assert.equal(snap.backends[0].session, mine.session);
      assert.notEqual((await store.register({ ...mine, session: 'again' }, sample(), 3000, 100)).result, 'owned', 'the owner may supersede');
      assert.equal(await store.deregister(s, mine.id, 'again'), true);
      assert.equal((await store.register(theirs, sample(), 3000, 100)).result, 'registered', 'free again once it left');
    });

    it('refuses a new service past maxServices, but not a known one', async () => {
      const known = (await store.listServices()).length;
      const a = service();
      const b = service();
      assert.equal((await store.register(backend(a, 8040), sample(), 3000, 100, known + 1)).result, 'registered');
      assert.deepEqual(await store.register(backend(b, 8041), sample(), 3000, 100, known + 1), { result: 'too-many-services' });
      assert.equal((await store.snapshot(b)).backends.length, 0, 'nothing stored');
      assert.ok(!(await store.listServices()).includes(b));
      assert.equal((await store.register(backend(a, 8042), sample(), 3000, 100, known + 1)).result, 'registered', 'a known service takes more');
    });

    it('prunes services without backends or a Kubernetes view; versions keep increasing', async () => {
      const empty = service();
      const busy = service();
      const b = backend(empty, 8050);
      await store.register(b, sample(), 3000, 100);
      await store.register(backend(busy, 8051), sample(), 3000, 100);
      const before = (await store.snapshot(empty)).version;
      await store.deregister(empty, b.id, b.session);
      const pruned = await store.pruneServices();
      assert.ok(pruned.includes(empty), 'the empty service is forgotten');
      assert.ok(!pruned.includes(busy));
      const names = await store.listServices();
      assert.ok(!names.includes(empty));
      assert.ok(names.includes(busy));
      await store.register(backend(empty, 8052), sample(), 3000, 100);
      assert.ok((await store.listServices()).includes(empty), 'a service can come back');
      assert.ok((await store.snapshot(empty)).version > before, 'a client holding the old version still sees the new one as newer');
    });

    it('never loses a service that registers while it is being pruned', async () => {
      const names = Array.from({ length: 30 }, () => service());
      // Each service: registered, then emptied, so it is a prune candidate.
      for (const [i, s] of names.entries()) {
        const b = backend(s, 9000 + i);
        await store.register(b, sample(), 3000, 100);
        await store.deregister(s, b.id, b.session);
      }
      // Prune and re-register at once, many times over, in every interleaving the scheduler gives.
      for (let round = 0; round < 5; round++) {
        await Promise.all([
          store.pruneServices(),
          ...names.map((s, i) => store.register(backend(s, 9100 + round * 40 + i), sample(), 3000, 100)),
          store.pruneServices(),
        ]);
        const listed = new Set(await store.listServices());
        for (const s of names) assert.ok(listed.has(s), `round ${round}: ${s} has backends and must stay listed`);
        for (const s of names) {
          for (const backendRecord of (await store.snapshot(s)).backends) await store.deregister(s, backendRecord.id, backendRecord.session);
        }
      }
    });
  });
}
