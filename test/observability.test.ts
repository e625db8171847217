import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import type { HealthCheckResponse__Output } from '../src/generated/grpc/health/v1/HealthCheckResponse.js';
import type { Assignment__Output } from '../src/generated/lookaside/v1/Assignment.js';
import { HealthService } from '../src/health/health.service.js';
import { clients, type Clients } from './support/protos.js';
import { startService } from './support/lookaside.js';
import { freePort, waitFor } from './support/ports.js';
import { startRedis, uniquePrefix, type TestRedis } from './support/redis.js';
import { openReport, Recorded, steadyLoad } from './support/streams.js';

const check = (c: Clients, service: string) =>
  new Promise<HealthCheckResponse__Output>((resolve, reject) => c.health.Check({ service }, (err, res) => (err ? reject(err) : resolve(res!))));

function watchHealth(c: Clients, service: string) {
  const stream: ClientReadableStream<HealthCheckResponse__Output> = c.health.Watch({ service });
  const seen: string[] = [];
  stream.on('data', (m: HealthCheckResponse__Output) => seen.push(m.status));
  stream.on('error', () => {});
  return { stream, seen, saw: (s: string) => waitFor(`health ${s} (seen ${seen.join(',')})`, () => (seen.includes(s) ? true : undefined)) };
}

describe('grpc.health.v1 on the gRPC port', () => {
  let redis: TestRedis;

  before(async () => {
    redis = await startRedis(true);
  });
  after(async () => {
    await redis.stop().catch(() => {});
  });

  it('answers Check and Watch, goes NOT_SERVING when the store is down and on shutdown', async () => {
    const service = await startService({
      redisUrl: redis.url,
      redisPrefix: uniquePrefix(),
      env: { LOOKASIDE_HEALTH_CHECK_INTERVAL_MS: '100', LOOKASIDE_HEALTH_CHECK_TIMEOUT_MS: '300' },
    });
    const c = clients(service.grpcAddress);
    try {
      assert.equal((await check(c, '')).status, 'SERVING');
      assert.equal((await check(c, 'lookaside.v1.Reports')).status, 'SERVING');
      await assert.rejects(check(c, 'no.such.Service'), (e: ServiceError) => e.code === status.NOT_FOUND && /not served here/.test(e.details));
      await assert.rejects(check(c, 'x'.repeat(300)), (e: ServiceError) => e.code === status.INVALID_ARGUMENT);
      const unknown = watchHealth(c, 'no.such.Service');
      await unknown.saw('SERVICE_UNKNOWN');
      unknown.stream.cancel();

      const watch = watchHealth(c, '');
      await watch.saw('SERVING');
      await redis.stop();
      await watch.saw('NOT_SERVING');
      assert.equal((await check(c, '')).status, 'NOT_SERVING');
      const ready = await fetch(`http://127.0.0.1:${service.httpPort}/readyz`);
      assert.equal(ready.status, 503);
      assert.match(((await ready.json()) as { reason: string }).reason, /^store: /);
      service.app.get(HealthService).shutDown();
      assert.equal((await check(c, '')).status, 'NOT_SERVING');
      watch.stream.cancel();
    } finally {
      c.close();
      await service.stop();
    }
  });
});

describe('metrics: per service and backend, histograms, stream counts', () => {
  it('shows a backend while it is listed, with its load, weight and state, and drops it when it leaves', async () => {
    const service = await startService({ env: { LOOKASIDE_FLEET_REFRESH_MS: '100', LOOKASIDE_POLICY_BLACKOUT_MS: '0' } });
    const c = clients(service.grpcAddress);
    const scrape = async () => {
      const res = await fetch(`http://127.0.0.1:${service.httpPort}/metrics`);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      return res.text();
    };
    const value = (text: string, series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    try {
      const stream = c.assignments.Watch();
      const watch = new Recorded<Assignment__Output>(stream);
      stream.write({ start: { service: 'obs' } });
      const backend = openReport(c);
      backend.register('obs', '127.0.0.1', 9501, { load: steadyLoad(100, 0.5) });
      await backend.registered();
      backend.report(steadyLoad(100, 0.5));
      await watch.next('the backend assigned', (a) => a.backends.length === 1);
      const at = '{service="obs",backend="127.0.0.1:9501"}';
      const text = await waitFor('the backend in the metrics', async () => {
        const t = await scrape();
        return (value(t, `lookaside_backend_weight${at}`) ?? 0) > 0 ? t : undefined;
      });
      assert.equal(value(text, `lookaside_backend_share${at}`), 1);
      assert.equal(value(text, `lookaside_backend_utilization${at}`), 0.5);
      assert.equal(value(text, `lookaside_backend_rps${at}`), 100);
      assert.equal(value(text, `lookaside_backend_eps${at}`), 0);
      assert.equal(value(text, `lookaside_backend_ejected${at}`), 0);
      assert.equal(value(text, 'lookaside_backend_state{service="obs",backend="127.0.0.1:9501",state="SERVING"}'), 1);
      assert.equal(value(text, 'lookaside_service_backends{service="obs"}'), 1);
      assert.equal(value(text, 'lookaside_streams{api="report"}'), 1);
      assert.equal(value(text, 'lookaside_streams{api="watch"}'), 1);
      assert.equal(value(text, 'lookaside_report_handling_seconds_count{kind="registration"}'), 1);
      assert.ok((value(text, 'lookaside_report_handling_seconds_count{kind="load_report"}') ?? 0) >= 1);
      assert.ok((value(text, 'lookaside_push_latency_seconds_count{kind="membership"}') ?? 0) >= 1, 'the registration reached the watch');
      assert.ok((value(text, 'lookaside_assignments_pushed_total{api="watch"}') ?? 0) >= 1);
      assert.ok(value(text, 'lookaside_process_resident_memory_bytes')! > 0, 'process metrics too');

      backend.stream.end();
      await backend.recorded.ended();
      const gone = await waitFor('the backend gone from the metrics', async () => {
        const t = await scrape();
        return value(t, `lookaside_backend_weight${at}`) === undefined ? t : undefined;
      });
      assert.equal(value(gone, 'lookaside_streams{api="report"}'), 0);
      assert.equal(value(gone, 'lookaside_deregistrations_total'), 1);
      stream.cancel();
    } finally {
      c.close();
      await service.stop();
    }
  });
});

describe('logs', () => {
  it('are one JSON object per line, at the level LOOKASIDE_LOG_LEVEL sets', async () => {
    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    const child = spawn(process.execPath, ['--import', '@swc-node/register/esm-register', 'src/main.ts'], {
      env: {
        ...process.env,
        LOOKASIDE_GRPC_ADDRESS: `127.0.0.1:${grpcPort}`,
        LOOKASIDE_HTTP_PORT: String(httpPort),
        LOOKASIDE_HTTP_HOST: '127.0.0.1',
        LOOKASIDE_LOG_LEVEL: 'warn',
        LOOKASIDE_LOG_FORMAT: 'json',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor('the service ready', async () => {
        try {
          return (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).ok ? true : undefined;
        } catch {
          return undefined;
        }
      }, 20_000, 50);
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      const lines = out.split('\n').filter((l) => l.trim() !== '');
      assert.ok(lines.length > 0);
      const records = lines.map((l) => JSON.parse(l) as { level: string; context?: string; message: unknown });
      assert.ok(records.some((r) => r.level === 'warn' && r.context === 'Auth' && /authentication is off/.test(String(r.message))), 'the auth-off warning');
      assert.ok(records.every((r) => r.level === 'warn' || r.level === 'error' || r.level === 'fatal'), `nothing below warn: ${out}`);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
