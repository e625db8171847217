/**
 * Interoperability with an unmodified grpc-go client (grpc-go 1.33 from Debian's
 * golang-google-grpc-dev, built in GOPATH mode by the test): the client balances through
 * grpclb with lookaside as its remote balancer, over real sockets on 127.0.0.1, and calls
 * three grpc-js backends (plus one fallback backend) that record the lb-token of every call.
 *
 * Needs `go` and grpc-go's sources (Debian: golang-go golang-google-grpc-dev); without them
 * the test fails, naming the packages.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClientStatsService, SERVICE_WIDE } from '../src/balancer/client-stats.service.js';
import type { ClientStats__Output } from '../src/generated/grpc/lb/v1/ClientStats.js';
import type { ListBackendsResponse__Output } from '../src/generated/lookaside/v1/ListBackendsResponse.js';
import { REGISTRY_STORE, type RegistryStore, type TokenCallStats } from '../src/store/types.js';
import { startEchoBackend, type EchoBackend } from './interop/echo-backend.js';
import { buildGrpcGoClient, startGrpcGoClient, type GoAnswer, type GoClient } from './interop/grpc-go-client.js';
import { startService } from './support/lookaside.js';
import { waitFor } from './support/ports.js';
import { clients, type Clients } from './support/protos.js';
import { openBalanceLoad, openReport, steadyLoad } from './support/streams.js';

const SERVICE = 'echo';
/** What the Go client writes as its target; the service drops the port. */
const TARGET = 'echo:50051';
const CALLS = 600;
/** Allowed gap between a backend's share of calls and its share of the weight. */
const SHARE_TOLERANCE = 0.05;
const REPORT_EVERY_MS = 500;
/** Time for the Go client's copy of a pushed list to land after the test's own copy did. */
const PUSH_GRACE_MS = 500;

function listBackends(c: Clients): Promise<ListBackendsResponse__Output> {
  return new Promise((resolve, reject) =>
    c.registry.ListBackends({ service: SERVICE }, (err, res) => (err ? reject(err) : resolve(res!))),
  );
}

/** Shares of the calls per backend, next to their shares of the weight, for messages. */
function describeSplit(answer: GoAnswer, weights: Map<string, number>): string {
  const total = [...weights.values()].reduce((a, b) => a + b, 0);
  return [...weights]
    .map(([address, w]) => `${address}: ${answer.peers[address] ?? 0}/${answer.calls} calls vs weight ${w}/${total}`)
    .join('; ');
}

function assertSplit(answer: GoAnswer, weights: Map<string, number>): void {
  const total = [...weights.values()].reduce((a, b) => a + b, 0);
  const stray = Object.keys(answer.peers).filter((p) => !weights.has(p));
  assert.deepEqual(stray, [], `calls reached backends outside the assignment: ${JSON.stringify(answer.peers)}`);
  for (const [address, weight] of weights) {
    const share = (answer.peers[address] ?? 0) / answer.calls;
    assert.ok(
      Math.abs(share - weight / total) <= SHARE_TOLERANCE,
      `split off the weights by more than ${SHARE_TOLERANCE * 100} points: ${describeSplit(answer, weights)}`,
    );
  }
}

/** grpc-go log lines that mean it disliked something on the grpclb stream. */
const COMPLAINTS = /grpclb: (failed|reply from remote balancer did not include)|did not include initial response|failed to recv server list|error parsing|ErrBadResolverState/i;

describe('interop: unmodified grpc-go (grpclb) client against lookaside', () => {
  let binary: string;
  let service: Awaited<ReturnType<typeof startService>>;
  let c: Clients;
  let backends: EchoBackend[] = [];
  let fallback: EchoBackend;
  let go: GoClient | undefined;
  const clientStats: ClientStats__Output[] = [];
  let maxWindow: TokenCallStats | undefined;
  const timers: NodeJS.Timeout[] = [];

  before(async () => {
    binary = await buildGrpcGoClient();
    service = await startService({
      env: { LOOKASIDE_CLIENT_STATS_INTERVAL_MS: '1000', LOOKASIDE_CLIENT_STATS_WINDOW_MS: '1000' },
    });
    c = clients(service.grpcAddress);
    // Observe the ClientStats grpc-go sends, as the service receives them (no service change).
    const stats = service.app.get(ClientStatsService, { strict: false });
    const received = stats.addGrpclb.bind(stats);
    stats.addGrpclb = (assignment, message) => {
      clientStats.push(message);
      received(assignment, message);
    };
    // And what reaches the shared stats window the policy reads.
    const store = service.app.get<symbol, RegistryStore>(REGISTRY_STORE, { strict: false });
    timers.push(
      setInterval(async () => {
        const window = (await store.snapshot(SERVICE)).clientStats[SERVICE_WIDE];
        if (window && window.started > (maxWindow?.started ?? 0)) maxWindow = window;
      }, 100),
    );
    [fallback, ...backends] = await Promise.all([0, 1, 2, 3].map(() => startEchoBackend()));
  });

  after(async () => {
    timers.forEach(clearInterval);
    go?.kill();
    c?.close();
    await service?.stop();
    await Promise.all([fallback, ...backends].filter(Boolean).map((b) => b.stop()));
  });

  it('balances by the assigned weights, sends the right lb-tokens, follows removals and reports client stats', { timeout: 100_000 }, async (t) => {
    const [a, b, cc] = backends;
    const watcher = openBalanceLoad(c, TARGET);

    // 1. The service is unknown: lookaside answers with a FallbackResponse and grpc-go
    //    uses its resolver's fallback address at once (its own fallback timer is 10 s).
    go = await startGrpcGoClient(binary, { balancer: service.grpcAddress, target: TARGET, fallback: [fallback.address] });
    const inFallback = await go.ask(`until 8000 ${fallback.address}`);
    assert.equal(inFallback.errors, 0, `calls failed in fallback: ${inFallback.firstError}`);
    assert.deepEqual(Object.keys(inFallback.peers), [fallback.address]);
    assert.ok(inFallback.millis < 5000, `fallback took ${inFallback.millis} ms: the FallbackResponse was not acted on`);
    assert.ok(fallback.tokens.every((tk) => tk === ''), 'fallback calls carry no lb-token');

    // 2. Three backends register with different loads: raw weights rps/cpu = 400, 200, 200.
    const loads = new Map([
      [a, steadyLoad(100, 0.25)],
      [b, steadyLoad(100, 0.5)],
      [cc, steadyLoad(100, 0.5)],
    ]);
    const reporters = new Map(
      backends.map((backend) => {
        const r = openReport(c);
        r.register(SERVICE, '127.0.0.1', backend.port, { load: loads.get(backend), state: 'SERVING' });
        const timer = setInterval(() => r.report(loads.get(backend)), REPORT_EVERY_MS);
        timers.push(timer);
        return [backend, { ...r, timer }] as const;
      }),
    );
    const acks = new Map(await Promise.all(backends.map(async (bk) => [bk.address, await reporters.get(bk)!.registered()] as const)));
    const listed = await waitFor(
      'weights 1000/500/500 in ListBackends',
      async () => {
        const res = await listBackends(c);
        const w = new Map(res.backends.map((s) => [`${s.host}:${s.port}`, s.weight]));
        return w.get(a.address) === 1000 && w.get(b.address) === 500 && w.get(cc.address) === 500 ? res : undefined;
      },
      5000,
      50,
    );
    const weights = new Map(listed.backends.map((s) => [`${s.host}:${s.port}`, s.weight]));
    const tokens = new Map(listed.backends.map((s) => [`${s.host}:${s.port}`, s.loadBalanceToken]));
    for (const [address, ack] of acks) assert.equal(tokens.get(address), ack.loadBalanceToken, 'ListBackends and the ack agree on the token');
    // The same weights on the grpclb wire: repeats, reduced by their gcd (2:1:1).
    await waitFor('a 2:1:1 server list', () => {
      const list = watcher.latestList();
      const n = (addr: string) => list?.filter((s) => s.address === addr).length ?? 0;
      return list?.length === 4 && n(a.address) === 2 && n(b.address) === 1 && n(cc.address) === 1 ? true : undefined;
    });
    await new Promise((r) => setTimeout(r, PUSH_GRACE_MS));

    // 3. grpc-go leaves fallback, connects to all three and splits calls by the weights.
    const warm = await go.ask(`until 10000 ${a.address} ${b.address} ${cc.address}`);
    assert.equal(warm.errors, 0, `calls failed while connecting: ${warm.firstError}`);
    for (const bk of backends) assert.ok(warm.peers[bk.address] > 0, `${bk.address} was never reached: ${JSON.stringify(warm.peers)}`);
    const fallbackCalls = fallback.tokens.length;
    const tokensBefore = backends.map((bk) => bk.tokens.length);
    const measured = await go.ask(`calls ${CALLS}`);
    assert.equal(measured.errors, 0, `calls failed: ${measured.firstError}`);
    t.diagnostic(`3 backends, ${CALLS} calls in ${measured.millis} ms: ${describeSplit(measured, weights)}`);
    assertSplit(measured, weights);
    assert.equal(fallback.tokens.length, fallbackCalls, 'no call went to the fallback backend once a server list arrived');
    for (const [i, bk] of backends.entries()) {
      const seen = bk.tokens.slice(tokensBefore[i]);
      assert.equal(seen.length, measured.peers[bk.address] ?? 0, `${bk.address}: the backend and grpc-go agree on the call count`);
    }

    // 4. Every call carried the token of the backend it reached, exactly once.
    for (const bk of backends) {
      const wrong = bk.tokens.filter((tk) => tk !== tokens.get(bk.address));
      assert.deepEqual(wrong.slice(0, 5), [], `${bk.address} got ${wrong.length} calls without its token ${tokens.get(bk.address)}`);
      assert.equal(bk.multiTokenCalls, 0, `${bk.address} got calls with several lb-token values`);
    }

    // 5. The third backend's report stream ends cleanly: grpc-go stops calling it.
    const leaving = reporters.get(cc)!;
    clearInterval(leaving.timer);
    leaving.stream.end();
    await watcher.waitForBackends([a.address, b.address], 2000);
    await new Promise((r) => setTimeout(r, PUSH_GRACE_MS));
    const leftCalls = cc.tokens.length;
    const afterRemoval = await go.ask(`calls ${CALLS / 2}`);
    assert.equal(afterRemoval.errors, 0, `calls failed after the removal: ${afterRemoval.firstError}`);
    assert.equal(cc.tokens.length, leftCalls, `${cc.address} still got calls after its stream ended`);
    const remaining = new Map(
      (await listBackends(c)).backends.map((s) => [`${s.host}:${s.port}`, s.weight] as const),
    );
    assert.deepEqual([...remaining.keys()].sort(), [a.address, b.address].sort());
    t.diagnostic(`after ${cc.address} left, ${CALLS / 2} calls: ${describeSplit(afterRemoval, remaining)}`);
    assertSplit(afterRemoval, remaining);

    // 6. grpc-go sent ClientStats every second (interval from the initial response), and
    //    they add up to the calls it made through the balancer's list.
    const balancedCalls = [warm, measured, afterRemoval].reduce(
      (sum, ans) => sum + backends.reduce((s, bk) => s + (ans.peers[bk.address] ?? 0), 0),
      0,
    );
    const sum = (field: keyof ClientStats__Output) => clientStats.reduce((s, m) => s + Number(m[field] ?? 0), 0);
    await waitFor(
      `ClientStats to account for ${balancedCalls} calls (so far ${sum('numCallsStarted')})`,
      () => (sum('numCallsFinished') >= balancedCalls ? true : undefined),
      5000,
      50,
    );
    assert.equal(sum('numCallsStarted'), balancedCalls, 'ClientStats num_calls_started');
    assert.equal(sum('numCallsFinished'), balancedCalls, 'ClientStats num_calls_finished');
    assert.equal(sum('numCallsFinishedKnownReceived'), balancedCalls, 'ClientStats num_calls_finished_known_received');
    assert.equal(sum('numCallsFinishedWithClientFailedToSend'), 0);
    // Gaps between the timestamps grpc-go put on them (its send times, not our receive times).
    const sentMs = clientStats.map((s) => Number(s.timestamp?.seconds ?? 0) * 1000 + (s.timestamp?.nanos ?? 0) / 1e6);
    const gaps = sentMs.slice(1).map((ms, i) => Math.round(ms - sentMs[i]));
    t.diagnostic(`${clientStats.length} ClientStats messages, sent ${gaps.join(', ')} ms apart`);
    assert.ok(clientStats.length >= 1 && sentMs.every((ms) => ms > 0), 'ClientStats carry a timestamp');
    assert.ok(gaps.every((g) => g >= 900), `ClientStats came faster than the 1 s interval: ${gaps.join(', ')} ms`);
    await waitFor('client stats in the shared window', () => (maxWindow && maxWindow.finished > 0 ? true : undefined), 3000, 50);
    t.diagnostic(`largest service-wide stats window seen: ${JSON.stringify(maxWindow)}`);

    // 7. The service rejected nothing grpc-go sent, and grpc-go complained about nothing.
    const metrics = await (await fetch(`http://127.0.0.1:${service.httpPort}/metrics`)).text();
    assert.match(metrics, /# TYPE lookaside_rejected_inputs_total counter\n/);
    assert.doesNotMatch(metrics, /lookaside_rejected_inputs_total\{[^}]*\} [1-9]/, 'nothing was rejected');
    assert.equal(await go.quit(), 0, `the grpc-go client exited badly; its log:\n${go.log()}`);
    const complaints = go.log().split('\n').filter((l) => COMPLAINTS.test(l));
    assert.deepEqual(complaints, [], `grpc-go complained:\n${complaints.join('\n')}`);
    watcher.stream.cancel();
    reporters.get(a)!.stream.end();
    reporters.get(b)!.stream.end();
  });
});
