import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { ListBackendsResponse__Output } from '../src/generated/lookaside/v1/ListBackendsResponse.js';
import type { Assignment__Output } from '../src/generated/lookaside/v1/Assignment.js';
import { clients, type Clients } from './support/protos.js';
import { startService, type RunningService } from './support/lookaside.js';
import { openBalanceLoad, openReport, Recorded, steadyLoad } from './support/streams.js';

function listBackends(c: Clients, service: string): Promise<ListBackendsResponse__Output> {
  return new Promise((resolve, reject) =>
    c.registry.ListBackends({ service }, (err, res) => (err ? reject(err) : resolve(res!))),
  );
}

describe('bad input gets INVALID_ARGUMENT naming the field, and changes nothing', () => {
  let service: RunningService;
  let c: Clients;
  let bystander: ReturnType<typeof openReport>;

  before(async () => {
    // Every case here registers on one shared connection; the rate limit has its own test (limits).
    service = await startService({ env: { LOOKASIDE_MAX_REGISTRATIONS_PER_SECOND: '1000' } });
    c = clients(service.grpcAddress);
    // A healthy backend whose stream must not notice any of the bad input below.
    bystander = openReport(c);
    bystander.register('victim', '127.0.0.1', 9000);
    await bystander.registered();
  });
  after(async () => {
    bystander.stream.end();
    await bystander.recorded.ended();
    c.close();
    await service.stop();
  });

  const badRegistrations: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a missing service', { host: '127.0.0.1', port: 80 }, /^registration\.service: is required/],
    ['an over-long service name', { service: 'a'.repeat(256), host: '127.0.0.1', port: 80 }, /^registration\.service: is over 255 bytes/],
    ['a service name with odd characters', { service: 'victim;drop', host: '127.0.0.1', port: 80 }, /^registration\.service:/],
    ['a host that is not an IP', { service: 'victim', host: 'evil.example', port: 80 }, /^registration\.host: must be an IPv4 or IPv6 literal/],
    ['a missing host', { service: 'victim', port: 80 }, /^registration\.host: is required/],
    ['port 0', { service: 'victim', host: '127.0.0.1', port: 0 }, /^registration\.port: must be from 1 to 65535/],
    ['port 70000', { service: 'victim', host: '127.0.0.1', port: 70000 }, /^registration\.port/],
    [
      'too many labels',
      { service: 'victim', host: '127.0.0.1', port: 80, labels: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])) },
      /^registration\.labels: has 33 entries, at most 32/,
    ],
    ['an over-long label value', { service: 'victim', host: '127.0.0.1', port: 80, labels: { k: 'v'.repeat(256) } }, /^registration\.labels\["k"\]: is over 255 bytes/],
    ['a NaN load', { service: 'victim', host: '127.0.0.1', port: 80, load: { cpuUtilization: NaN } }, /^registration\.load\.cpu_utilization: is not a number/],
  ];

  for (const [what, registration, message] of badRegistrations) {
    it(`rejects a registration with ${what}`, async () => {
      const r = openReport(c);
      r.stream.write({ registration });
      const ended = await r.recorded.ended();
      assert.equal(ended.code, status.INVALID_ARGUMENT);
      assert.match(ended.details, message);
      const listed = await listBackends(c, 'victim');
      assert.deepEqual(
        listed.backends.map((b) => b.backendId),
        ['127.0.0.1:9000'],
        'nothing was stored',
      );
    });
  }

  const badReports: Array<[string, Record<string, unknown>, RegExp]> = [
    ['NaN cpu', { cpuUtilization: NaN, rpsFractional: 10 }, /^load_report\.load\.cpu_utilization: is not a number/],
    ['negative rps', { cpuUtilization: 0.5, rpsFractional: -3 }, /^load_report\.load\.rps_fractional: must not be negative/],
    ['absurd rps', { cpuUtilization: 0.5, rpsFractional: 1e12 }, /^load_report\.load\.rps_fractional: is absurdly large/],
    ['infinite eps', { cpuUtilization: 0.5, eps: Infinity }, /^load_report\.load\.eps: is absurdly large/],
    ['absurd utilization', { cpuUtilization: 5000 }, /^load_report\.load\.cpu_utilization: is absurdly large/],
    [
      'too many named metrics',
      { namedMetrics: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`m${i}`, 1])) },
      /^load_report\.load\.named_metrics: has 33 entries/,
    ],
  ];

  for (const [what, load, message] of badReports) {
    it(`rejects a report with ${what} and keeps the last good load`, async () => {
      const r = openReport(c);
      r.register('victim', '127.0.0.1', 9001);
      r.report(steadyLoad(50, 0.25));
      await r.recorded.next('two acks', (m) => m.accepted === 2);
      r.report(load);
      const ended = await r.recorded.ended();
      assert.equal(ended.code, status.INVALID_ARGUMENT);
      assert.match(ended.details, message);
      const stored = (await listBackends(c, 'victim')).backends.find((b) => b.backendId === '127.0.0.1:9001');
      assert.equal(stored?.load?.rpsFractional, 50, 'the bad values were not stored');
      assert.equal(stored?.load?.cpuUtilization, 0.25);
    });
  }

  it('rejects a report sent before the registration', async () => {
    const r = openReport(c);
    r.report();
    const ended = await r.recorded.ended();
    assert.equal(ended.code, status.INVALID_ARGUMENT);
    assert.match(ended.details, /^registration: must be the first message/);
  });

  it('rejects a second registration on one stream', async () => {
    const r = openReport(c);
    r.register('victim', '127.0.0.1', 9002);
    r.register('victim', '127.0.0.1', 9003);
    const ended = await r.recorded.ended();
    assert.equal(ended.code, status.INVALID_ARGUMENT);
    assert.match(ended.details, /^registration: a stream registers once/);
    const ids = (await listBackends(c, 'victim')).backends.map((b) => b.backendId);
    assert.ok(!ids.includes('127.0.0.1:9003'));
  });

  it('rejects a BalanceLoad stream that does not start with initial_request', async () => {
    const lb = openBalanceLoad(c);
    lb.stream.write({ clientStats: { numCallsStarted: 1 } });
    const ended = await lb.recorded.ended();
    assert.equal(ended.code, status.INVALID_ARGUMENT);
    assert.match(ended.details, /^initial_request: must be the first message/);
  });

  it('rejects a BalanceLoad name of 256 bytes or more', async () => {
    const lb = openBalanceLoad(c, 'x'.repeat(256));
    const ended = await lb.recorded.ended();
    assert.equal(ended.code, status.INVALID_ARGUMENT);
    assert.match(ended.details, /^initial_request\.name: is over 255 bytes/);
    assert.equal(lb.recorded.messages.length, 0, 'no response before the name is checked');
  });

  it('rejects a second initial_request and negative client stats', async () => {
    const twice = openBalanceLoad(c, 'victim');
    twice.stream.write({ initialRequest: { name: 'victim' } });
    assert.match((await twice.recorded.ended()).details, /^initial_request: is sent once/);
    const negative = openBalanceLoad(c, 'victim');
    negative.stream.write({ clientStats: { numCallsStarted: -5 } });
    const ended = await negative.recorded.ended();
    assert.equal(ended.code, status.INVALID_ARGUMENT);
    assert.match(ended.details, /^client_stats\.num_calls_started: must be a non-negative integer/);
  });

  it('rejects a Watch without a service', async () => {
    const stream = c.assignments.Watch();
    const recorded = new Recorded<Assignment__Output>(stream);
    stream.write({ start: { service: '' } });
    const ended = await recorded.ended();
    assert.equal(ended.code, status.INVALID_ARGUMENT);
    assert.match(ended.details, /^start\.service: is required/);
  });

  it('rejects ListBackends for a malformed service name', async () => {
    await assert.rejects(listBackends(c, '../etc'), (err: { code: number; details: string }) => {
      assert.equal(err.code, status.INVALID_ARGUMENT);
      assert.match(err.details, /^service:/);
      return true;
    });
  });

  it('left the healthy backend stream untouched throughout', async () => {
    bystander.report();
    const ack = await bystander.recorded.next('an ack after all that', (m) => m.accepted === 2);
    assert.equal(ack.backendId, '127.0.0.1:9000');
    assert.equal(bystander.recorded.status, undefined, 'its stream is still open');
  });
});
