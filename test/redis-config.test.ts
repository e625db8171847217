import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config/config.js';
import { describeRedis, readRedisTls } from '../src/config/redis-connection.js';

const redisOf = (env: Record<string, string>) => loadConfig(env).redis;

describe('configuration: REDIS_URL, REDIS_CLUSTER_NODES, REDIS_SENTINELS', () => {
  it('reads each of the three modes', () => {
    assert.equal(redisOf({}), undefined, 'none set: the in-memory store');
    assert.deepEqual(redisOf({ REDIS_URL: 'rediss://u:p@h:6380/0' }), { mode: 'single', url: 'rediss://u:p@h:6380/0' });
    assert.deepEqual(redisOf({ REDIS_CLUSTER_NODES: ' 10.0.0.1:7000, redis-1.svc:7001,[::1]:7002 ', REDIS_PASSWORD: 'pw', REDIS_TLS: 'on' }), {
      mode: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'redis-1.svc', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      username: undefined,
      password: 'pw',
      tls: true,
    });
    assert.deepEqual(redisOf({ REDIS_SENTINELS: 's1:26379,s2:26379', REDIS_SENTINEL_PASSWORD: 'spw', REDIS_USERNAME: 'app' }), {
      mode: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      name: 'mymaster',
      sentinelPassword: 'spw',
      username: 'app',
      password: undefined,
      tls: false,
    });
    assert.equal((redisOf({ REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_NAME: 'lookaside' }) as { name: string }).name, 'lookaside');
  });

  it('refuses more than one mode, naming them', () => {
    assert.throws(() => loadConfig({ REDIS_URL: 'redis://h:6379', REDIS_SENTINELS: 's:26379' }), /REDIS_URL and REDIS_SENTINELS are set: set only one of/);
    assert.throws(() => loadConfig({ REDIS_CLUSTER_NODES: 'a:1', REDIS_SENTINELS: 's:26379' }), /REDIS_CLUSTER_NODES and REDIS_SENTINELS are set/);
  });

  it('refuses malformed entries, naming the variable and the entry', () => {
    for (const bad of ['h', 'h:', ':7000', 'h:0', 'h:65536', 'h:70x', '::1:7000', 'a b:1']) {
      assert.throws(() => loadConfig({ REDIS_CLUSTER_NODES: `ok:1,${bad}` }), new RegExp(`^Error: REDIS_CLUSTER_NODES: "${bad.replace(/[[\]]/g, '\\$&')}" is not host:port`), bad);
    }
    assert.throws(() => loadConfig({ REDIS_SENTINELS: 's1:26379,,s2:26379' }), /REDIS_SENTINELS=.*an empty entry/);
    assert.throws(() => loadConfig({ REDIS_URL: 'http://u:secret@h:6379' }), (e: Error) => /REDIS_URL=http:\/\/\*\*\*@h:6379: expected redis:/.test(e.message) && !e.message.includes('secret'));
    assert.throws(() => loadConfig({ REDIS_SENTINELS: 's:1', REDIS_TLS: 'yes' }), /REDIS_TLS=yes: expected on or off/);
  });

  it('refuses settings that would be ignored', () => {
    assert.throws(() => loadConfig({ REDIS_URL: 'redis://h:6379', REDIS_PASSWORD: 'x' }), /REDIS_PASSWORD: only for REDIS_CLUSTER_NODES or REDIS_SENTINELS/);
    assert.throws(() => loadConfig({ REDIS_CLUSTER_NODES: 'a:1', REDIS_SENTINEL_NAME: 'm' }), /REDIS_SENTINEL_NAME: only for REDIS_SENTINELS/);
    assert.throws(() => loadConfig({ REDIS_PASSWORD: 'x' }), /REDIS_PASSWORD set without/);
  });

  it('takes TLS files (a private CA, a client certificate) over TLS only, and names a file it cannot read', () => {
    assert.deepEqual(redisOf({ REDIS_URL: 'rediss://h:6380', REDIS_TLS_CA_FILE: '/etc/ca.pem' }), { mode: 'single', url: 'rediss://h:6380', tlsFiles: { caFile: '/etc/ca.pem' } });
    const cluster = redisOf({ REDIS_CLUSTER_NODES: 'a:1', REDIS_TLS: 'on', REDIS_TLS_CERT_FILE: '/c.pem', REDIS_TLS_KEY_FILE: '/k.pem' });
    assert.deepEqual(cluster?.tlsFiles, { certFile: '/c.pem', keyFile: '/k.pem' });
    assert.throws(() => loadConfig({ REDIS_URL: 'redis://h:6379', REDIS_TLS_CA_FILE: '/ca.pem' }), /^Error: REDIS_TLS_CA_FILE: only over TLS \(a rediss:\/\/ REDIS_URL, or REDIS_TLS=on\)/);
    assert.throws(() => loadConfig({ REDIS_SENTINELS: 's:1', REDIS_TLS_CA_FILE: '/ca.pem' }), /REDIS_TLS_CA_FILE: only over TLS/);
    assert.throws(() => loadConfig({ REDIS_URL: 'rediss://h:6380', REDIS_TLS_CERT_FILE: '/c.pem' }), /REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE are set together or not at all/);
    assert.throws(() => loadConfig({ REDIS_TLS_CA_FILE: '/ca.pem' }), /REDIS_TLS_CA_FILE set without REDIS_URL/);
    assert.throws(() => readRedisTls({ caFile: '/nonexistent/ca.pem' }), /^Error: REDIS_TLS_CA_FILE=\/nonexistent\/ca\.pem: cannot read it \(ENOENT\)$/);
  });

  it('describes the store by mode and addresses, never a password', () => {
    assert.equal(describeRedis({ mode: 'single', url: 'redis://u:secret@h:6379' }), 'Redis store at redis://***@h:6379');
    const cluster = describeRedis(redisOf({ REDIS_CLUSTER_NODES: 'a:1,[::1]:2', REDIS_PASSWORD: 'secret', REDIS_TLS: 'on' })!);
    assert.equal(cluster, 'Redis Cluster store (seeds a:1,[::1]:2, TLS)');
    const sentinel = describeRedis(redisOf({ REDIS_SENTINELS: 's:26379', REDIS_PASSWORD: 'secret', REDIS_SENTINEL_PASSWORD: 'secret' })!);
    assert.equal(sentinel, 'Redis Sentinel store (master set "mymaster" via s:26379)');
  });
});
