import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packIp } from '../src/balancer/ip.js';
import { DROP_TOKEN, entryCounts, interleave, toServerList } from '../src/balancer/server-list.js';
import type { ServiceAssignment, WeightedBackend } from '../src/policy/policy.js';

function wb(n: number, weight: number, host = `10.0.0.${n}`): WeightedBackend {
  return { id: `${host}:80`, host, port: 80, zone: '', labels: {}, state: 'SERVING', token: `t${n}`, weight };
}

function assignment(backends: WeightedBackend[], dropPpm = 0): ServiceAssignment {
  return { service: 'echo', version: 1, backends, draining: [], dropPpm, zones: {} };
}

describe('grpclb server list', () => {
  it('packs IPv4 and IPv6 literals into 4 and 16 network-order bytes', () => {
    assert.deepEqual([...packIp('10.1.2.254')], [10, 1, 2, 254]);
    assert.equal(packIp('::1').length, 16);
    assert.deepEqual([...packIp('::1')], [...new Array(15).fill(0), 1]);
    assert.equal(packIp('2001:db8::8a2e:370:7334').toString('hex'), '20010db80000000000008a2e03707334');
    assert.equal(packIp('::ffff:192.0.2.1').toString('hex'), '00000000000000000000ffffc0000201');
    assert.equal(packIp('fe80::1%eth0').toString('hex'), 'fe800000000000000000000000000001');
    assert.throws(() => packIp('example.com'), /not an IP literal/);
  });

  it('expresses weights as repeats, reduced to the smallest list', () => {
    const counts = entryCounts([wb(1, 1000), wb(2, 500), wb(3, 500)], 1000);
    assert.deepEqual(
      counts.map(([b, n]) => [b.token, n]),
      [
        ['t1', 2],
        ['t2', 1],
        ['t3', 1],
      ],
    );
  });

  it('uses the shortest list that expresses the weights within 1 %', () => {
    const short = entryCounts([wb(1, 1000), wb(2, 263)], 100);
    assert.deepEqual(short.map(([, n]) => n), [4, 1], '79.2 % / 20.8 % as 4:1 (80 / 20)');
    const fine = entryCounts([wb(1, 1000), wb(2, 700), wb(3, 333)], 100);
    const total = fine.reduce((a, [, n]) => a + n, 0);
    const weightTotal = 2033;
    for (const [b, n] of fine) assert.ok(Math.abs(n / total - b.weight / weightTotal) <= 0.01, `${b.token}: ${n}/${total}`);
    assert.ok(total < 40, `short: ${total} entries`);
  });

  it('keeps the list within the bound, every backend at least once', () => {
    const backends = Array.from({ length: 50 }, (_, i) => wb(i + 1, i === 0 ? 1000 : 7));
    const servers = toServerList(assignment(backends), 60);
    assert.ok(servers.length <= 60, `length ${servers.length}`);
    assert.equal(new Set(servers.map((s) => s.loadBalanceToken)).size, 50);
    const heavy = servers.filter((s) => s.loadBalanceToken === 't1').length;
    assert.ok(heavy >= 5, `the heavy backend keeps most of the spare room (${heavy})`);
  });

  it('keeps the heaviest backends when there are more backends than entries', () => {
    const servers = toServerList(assignment([wb(1, 10), wb(2, 30), wb(3, 20)]), 2);
    assert.deepEqual(servers.map((s) => s.loadBalanceToken).sort(), ['t2', 't3']);
  });

  it('spreads repeats evenly instead of in bursts', () => {
    assert.deepEqual(interleave([['a', 3], ['b', 1]]).join(''), 'aaba');
    const order = interleave([['a', 5], ['b', 5]]);
    for (let i = 1; i < order.length; i++) assert.notEqual(order[i], order[i - 1]);
  });

  it('carries the address bytes, port and token of each backend', () => {
    const [server] = toServerList(assignment([wb(1, 5, '192.168.7.9')]), 100);
    assert.deepEqual([...(server.ipAddress as Buffer)], [192, 168, 7, 9]);
    assert.equal(server.port, 80);
    assert.equal(server.loadBalanceToken, 't1');
    assert.equal(server.drop, false);
  });

  it('adds drop entries only when the policy asks, in proportion', () => {
    const backends = [wb(1, 1), wb(2, 1), wb(3, 1)];
    assert.equal(toServerList(assignment(backends), 100).filter((s) => s.drop).length, 0);
    const servers = toServerList(assignment(backends, 250_000), 100);
    const drops = servers.filter((s) => s.drop);
    assert.equal(drops.length, 1);
    assert.equal(drops[0].loadBalanceToken, DROP_TOKEN);
    assert.equal(servers.length, 4, '1 drop in 4 entries = 25%');
  });
});
