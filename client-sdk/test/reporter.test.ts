// The backend reporter against a scripted lookaside (real gRPC over loopback) and a real
// grpc-js server whose calls it counts.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { credentials, loadPackageDefinition, status, type Client, type ClientReadableStream } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { BackendReporter } from '../src/index.js';
import { callOnce, echoClient, sleep, startBackend, waitFor, type TestBackend } from './support/backends.js';
import { FakeLookaside, type ReportStream } from './support/fake-lookaside.js';

const FAST = { initialMs: 50, maxMs: 300 };

async function reportingBackend(lookaside: FakeLookaside, name: string, extra: Partial<ConstructorParameters<typeof BackendReporter>[0]> = {}) {
  const reporter = new BackendReporter({ service: name, lookasideAddress: lookaside.address, host: '127.0.0.1', backoff: FAST, ...extra });
  const backend = await startBackend(name, { interceptors: [reporter.interceptor] });
  reporter.attach(backend.server);
  reporter.start({ port: backend.port });
  return { reporter, backend };
}

function streamFor(lookaside: FakeLookaside, service: string, nth = 0): ReportStream | undefined {
  return lookaside.reportStreams.filter((s) => s.messages[0]?.registration?.service === service)[nth];
}

describe('backend reporter', () => {
  let lookaside: FakeLookaside;
  const cleanup: Array<() => Promise<unknown> | unknown> = [];

  before(async () => {
    lookaside = await FakeLookaside.start();
  });
  after(async () => {
    for (const c of cleanup.reverse()) await c();
    lookaside.stop();
  });

  test('registers first, then reports at the interval the lookaside sets', async () => {
    lookaside.reportResponse = { backendId: 'id', loadBalanceToken: 'tok-1', reportInterval: { seconds: 0, nanos: 100e6 } };
    const { reporter, backend } = await reportingBackend(lookaside, 'reg');
    cleanup.push(() => reporter.stop(), () => backend.stop());
    assert.deepEqual(await reporter.whenRegistered(3000), { backendId: 'id', token: 'tok-1' });
    const stream = streamFor(lookaside, 'reg')!;
    const r = stream.messages[0].registration!;
    assert.deepEqual([r.service, r.host, r.port, r.state], ['reg', '127.0.0.1', backend.port, 'SERVING']);
    const count = stream.messages.length;
    await sleep(550);
    const reports = stream.messages.length - count;
    assert.ok(reports >= 3 && reports <= 7, `${reports} reports in 550 ms at 100 ms`);
    assert.ok(stream.messages.slice(1).every((m) => m.loadReport && m.loadReport.state === 'SERVING'));
    assert.equal(reporter.status.reportIntervalMs, 100);
  });

  test('reports rps, eps, in-flight calls and the user hooks', async () => {
    lookaside.reportResponse = { backendId: 'id', loadBalanceToken: 't', reportInterval: { seconds: 0, nanos: 200e6 } };
    let seenRps = -1;
    const { reporter, backend } = await reportingBackend(lookaside, 'load', {
      applicationUtilization: (s) => {
        seenRps = s.rpsFractional;
        return 0.42;
      },
      namedMetrics: () => ({ queue: 7 }),
    });
    cleanup.push(() => reporter.stop(), () => backend.stop());
    await reporter.whenRegistered(3000);
    const client = echoClient(backend.address);
    cleanup.push(() => client.close());
    const stream = streamFor(lookaside, 'load')!;
    const from = stream.messages.length;
    for (let i = 0; i < 40; i++) await callOnce(client, 2000, true, i % 4 === 0 ? 'fail' : 'x');
    backend.delayMs = 400;
    const slow = callOnce(client, 3000);
    await sleep(450);
    await slow;
    const loads = stream.messages.slice(from).map((m) => m.loadReport!.load!);
    const windowSeconds = 0.2;
    const finished = loads.reduce((s, l) => s + l.rpsFractional * windowSeconds, 0);
    const failed = loads.reduce((s, l) => s + l.eps * windowSeconds, 0);
    // Windows are about 200 ms each; counts rebuilt from rates are close, not exact.
    assert.ok(finished >= 30 && finished <= 55, `~41 calls from rps, got ${finished.toFixed(1)}`);
    assert.ok(failed >= 7 && failed <= 14, `~10 failures from eps, got ${failed.toFixed(1)}`);
    assert.ok(loads.some((l) => l.requestsInFlight === 1), 'the slow call shows in flight');
    assert.ok(loads.every((l) => l.applicationUtilization === 0.42 && l.namedMetrics.queue === 7));
    assert.ok(loads.every((l) => l.cpuUtilization >= 0 && l.memUtilization > 0 && l.memUtilization <= 1));
    assert.ok(seenRps >= 0);
  });

  test('does not count calls that ran past their deadline as the backend\'s errors', async () => {
    lookaside.reportResponse = { backendId: 'id', loadBalanceToken: 't', reportInterval: { seconds: 0, nanos: 100e6 } };
    const { reporter, backend } = await reportingBackend(lookaside, 'slow');
    cleanup.push(() => reporter.stop(), () => backend.stop());
    await reporter.whenRegistered(3000);
    const client = echoClient(backend.address);
    cleanup.push(() => client.close());
    const stream = streamFor(lookaside, 'slow')!;
    const from = stream.messages.length;
    backend.delayMs = 200;
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => callOnce(client, 50, true)));
    assert.ok(outcomes.every((o) => !o.ok && o.error?.code === status.DEADLINE_EXCEEDED), 'the client gave up on every call');
    await sleep(400);
    const loads = stream.messages.slice(from).map((m) => m.loadReport!.load!);
    assert.ok(loads.length >= 2);
    assert.ok(loads.every((l) => l.eps === 0), `eps stays 0: ${loads.map((l) => l.eps).join(', ')}`);
  });

  test('reconnects with backoff and registers again when the lookaside comes back', async () => {
    const own = await FakeLookaside.start();
    const port = own.port;
    const reporter = new BackendReporter({ service: 'again', lookasideAddress: own.address, host: '127.0.0.1', port: 1234, backoff: FAST });
    reporter.start();
    await reporter.whenRegistered(3000);
    let disconnects = 0;
    reporter.on('disconnected', () => disconnects++);
    own.stop();
    await sleep(400);
    const back = await FakeLookaside.start(port);
    cleanup.push(() => back.stop());
    await waitFor(() => back.reportStreams.some((s) => s.messages[0]?.registration?.port === 1234), 3000, 're-registration');
    assert.ok(disconnects >= 1);
    await reporter.stop();
    await waitFor(() => back.reportStreams.at(-1)!.state === 'ended', 2000, 'clean end');
  });

  test('drain: announces DRAINING, waits for quiet, deregisters cleanly, then shuts the server gracefully', async () => {
    lookaside.reportResponse = { backendId: 'id', loadBalanceToken: 't', reportInterval: { seconds: 1, nanos: 0 } };
    const { reporter, backend } = await reportingBackend(lookaside, 'drain', { drainQuietPeriodMs: 200 });
    await reporter.whenRegistered(3000);
    const client = echoClient(backend.address);
    cleanup.push(() => client.close());
    backend.delayMs = 300;
    const inFlight = callOnce(client, 5000, true);
    await waitFor(() => backend.inFlight === 1, 2000, 'call in flight');
    const started = Date.now();
    const result = await reporter.drain();
    const stream = streamFor(lookaside, 'drain')!;
    assert.equal((await inFlight).ok, true, 'the call in flight finished');
    assert.equal(stream.messages.at(-1)!.loadReport!.state, 'DRAINING');
    assert.equal(stream.state, 'ended', 'half-closed: a clean deregistration');
    assert.equal(result.timedOut, false);
    assert.equal(result.inFlightAtClose, 0);
    assert.equal(result.shutdown, 'graceful');
    assert.ok(result.waitedMs >= 200, `waited ${result.waitedMs} ms: at least the quiet period`);
    assert.ok(Date.now() - started < 3000);
    const after = await callOnce(client, 1000);
    assert.equal(after.ok, false, 'server is down');
  });

  test('drain gives up waiting at its timeout while clients keep calling', async () => {
    const { reporter, backend } = await reportingBackend(lookaside, 'busy', { drainQuietPeriodMs: 200 });
    await reporter.whenRegistered(3000);
    const client = echoClient(backend.address);
    cleanup.push(() => client.close());
    let stop = false;
    const traffic = (async () => {
      while (!stop) await callOnce(client, 1000);
    })();
    await sleep(50);
    const result = await reporter.drain({ timeoutMs: 400 });
    stop = true;
    await traffic;
    assert.equal(result.timedOut, true);
    assert.ok(result.waitedMs >= 400 && result.waitedMs < 1500, `waited ${result.waitedMs} ms`);
  });

  test('serves ORCA with the same numbers when asked', async () => {
    lookaside.reportResponse = { backendId: 'id', loadBalanceToken: 't', reportInterval: { seconds: 0, nanos: 100e6 } };
    const { reporter, backend } = await reportingBackend(lookaside, 'orca', { orca: true, applicationUtilization: () => 0.5 });
    cleanup.push(() => reporter.stop(), () => backend.stop());
    await reporter.whenRegistered(3000);
    const grpcJs = dirname(createRequire(import.meta.url).resolve('@grpc/grpc-js/package.json'));
    const proto = join(grpcJs, 'proto');
    const def = loadSync('xds/service/orca/v3/orca.proto', {
      includeDirs: [join(proto, 'xds'), join(proto, 'protoc-gen-validate')],
      keepCase: true,
      longs: String,
    });
    const pkg = loadPackageDefinition(def) as unknown as { xds: { service: { orca: { v3: { OpenRcaService: new (...a: unknown[]) => Client } } } } };
    const orca = new pkg.xds.service.orca.v3.OpenRcaService(backend.address, credentials.createInsecure()) as Client & {
      StreamCoreMetrics(req: object): ClientReadableStream<{ application_utilization: number; cpu_utilization: number }>;
    };
    const stream = orca.StreamCoreMetrics({ report_interval: { seconds: 0, nanos: 100e6 } });
    const report = await new Promise<{ application_utilization: number }>((resolve, reject) => {
      stream.on('data', (r: { application_utilization: number }) => {
        if (r.application_utilization > 0) resolve(r);
      });
      stream.on('error', reject);
    });
    stream.cancel();
    orca.close();
    assert.equal(report.application_utilization, 0.5);
  });
});
