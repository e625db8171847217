import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { clients, type Clients } from './support/protos.js';
import { startService, type RunningService } from './support/lookaside.js';
import { openReport } from './support/streams.js';
import { waitFor } from './support/ports.js';

/** A client on a connection of its own (distinct channel options give distinct connections). */
function separateConnection(service: RunningService, opened: Clients[]): Clients {
  const c = clients(service.grpcAddress, { 'lookaside.test.connection': opened.length });
  opened.push(c);
  return c;
}

describe('resource bounds: per-connection report streams and registrations, and the number of services', () => {
  let service: RunningService;
  const opened: Clients[] = [];
  const connection = () => separateConnection(service, opened);
  const metric = async (name: string) => {
    const text = await (await fetch(`http://127.0.0.1:${service.httpPort}/metrics`)).text();
    const match = new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\d+)$`, 'm').exec(text);
    return match ? Number(match[1]) : 0;
  };

  before(async () => {
    service = await startService({
      env: {
        LOOKASIDE_MAX_REPORT_STREAMS_PER_CONNECTION: '2',
        LOOKASIDE_MAX_REGISTRATIONS_PER_SECOND: '100',
        LOOKASIDE_MAX_SERVICES: '3',
      },
    });
  });
  after(async () => {
    opened.forEach((c) => c.close());
    await service.stop();
  });

  it('refuses a third report stream on one connection, not on another', async () => {
    const c = connection();
    const first = openReport(c);
    const second = openReport(c);
    first.register('limits-a', '127.0.0.1', 7001);
    second.register('limits-a', '127.0.0.1', 7002);
    await Promise.all([first.registered(), second.registered()]);
    const third = openReport(c);
    third.register('limits-a', '127.0.0.1', 7003);
    const ended = await third.recorded.ended();
    assert.equal(ended.code, status.RESOURCE_EXHAUSTED);
    assert.match(ended.details, /^connection: already has 2 report streams open \(LOOKASIDE_MAX_REPORT_STREAMS_PER_CONNECTION\)/);
    assert.equal(await metric('lookaside_limit_rejections_total{limit="report_streams_per_connection"}'), 1);

    const elsewhere = openReport(connection());
    elsewhere.register('limits-a', '127.0.0.1', 7004);
    await elsewhere.registered();
    // A stream that closes frees its place.
    first.stream.end();
    await first.recorded.ended();
    const again = openReport(c);
    again.register('limits-a', '127.0.0.1', 7005);
    await again.registered();
    for (const r of [second, elsewhere, again]) r.stream.end();
    await Promise.all([second, elsewhere, again].map((r) => r.recorded.ended()));
  });

  it('refuses a new service past LOOKASIDE_MAX_SERVICES; known ones still register', async () => {
    // limits-a exists; two more fit.
    const c = connection();
    const second = openReport(c);
    second.register('limits-b', '127.0.0.1', 7200);
    const third = openReport(c);
    third.register('limits-c', '127.0.0.1', 7201);
    await Promise.all([second.registered(), third.registered()]);
    const fourth = openReport(connection());
    fourth.register('limits-d', '127.0.0.1', 7202);
    const ended = await fourth.recorded.ended();
    assert.equal(ended.code, status.RESOURCE_EXHAUSTED);
    assert.match(ended.details, /^registration\.service: lookaside already knows 3 services \(LOOKASIDE_MAX_SERVICES\); "limits-d" would be one more/);
    const known = openReport(connection());
    known.register('limits-a', '127.0.0.1', 7203);
    await known.registered();
    for (const r of [second, third, known]) r.stream.end();
    await Promise.all([second, third, known].map((r) => r.recorded.ended()));
  });
});

describe('resource bounds: registrations per second on one connection', () => {
  let service: RunningService;
  const opened: Clients[] = [];
  const connection = () => separateConnection(service, opened);
  /** 'registered', or the status the stream ended with. */
  const outcome = (r: ReturnType<typeof openReport>) =>
    waitFor('an ack or an end', () => r.recorded.status ?? (r.recorded.messages.length > 0 ? ('registered' as const) : undefined));

  before(async () => {
    service = await startService({ env: { LOOKASIDE_MAX_REGISTRATIONS_PER_SECOND: '1' } });
  });
  after(async () => {
    opened.forEach((c) => c.close());
    await service.stop();
  });

  it('refuses a second registration within the second on one connection, not on another, and takes it after a pause', async () => {
    const c = connection();
    const first = openReport(c);
    first.register('rate', '127.0.0.1', 7301);
    assert.equal(await outcome(first), 'registered');
    const second = openReport(c);
    second.register('rate', '127.0.0.1', 7302);
    const refused = await outcome(second);
    assert.ok(refused !== 'registered', 'the second registration within the second is refused');
    assert.equal(refused.code, status.RESOURCE_EXHAUSTED);
    assert.match(refused.details, /^registration: over 1 registrations per second on this connection \(LOOKASIDE_MAX_REGISTRATIONS_PER_SECOND\); retry later/);
    const elsewhere = openReport(connection());
    elsewhere.register('rate', '127.0.0.1', 7303);
    assert.equal(await outcome(elsewhere), 'registered');
    await new Promise((r) => setTimeout(r, 1100));
    const later = openReport(c);
    later.register('rate', '127.0.0.1', 7302);
    assert.equal(await outcome(later), 'registered');
    for (const r of [first, elsewhere, later]) r.stream.end();
    await Promise.all([first, elsewhere, later].map((r) => r.recorded.ended()));
  });
});
