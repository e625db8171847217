// TLS and mTLS end to end: the real service on its certificate files, the SDK's reporter and
// client presenting client certificates and bearer tokens, real grpc-js backends on loopback.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import type { ListServicesResponse__Output } from '../src/generated/lookaside/v1/ListServicesResponse.js';
import { BackendReporter, registerLookaside } from '../client-sdk/src/index.js';
import { callMany, callOnce, echoClient, startBackend, type EchoClientInstance, type TestBackend } from '../client-sdk/test/support/backends.js';
import { makeCa, makeLeaf, type Leaf } from './support/certs.js';
import { clients } from './support/protos.js';
import { startService, type RunningService } from './support/lookaside.js';
import { waitFor } from './support/ports.js';
import { bearer } from './support/streams.js';

const REPORTER_TOKEN = 'tls-reporter-token-0001';
const CLIENT_TOKEN = 'tls-client-token-000001';

/** GET over https with the given trust and client certificate; resolves status and body. */
function httpsGet(port: number, path: string, ca: Buffer, client?: Leaf): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca, cert: client?.cert, key: client?.key, servername: 'localhost' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('TLS and mTLS, end to end with the SDK', () => {
  let dir: string;
  let service: RunningService;
  let ca: ReturnType<typeof makeCa>;
  let clientLeaf: Leaf;
  let backend: TestBackend;
  let reporter: BackendReporter;
  const channels: EchoClientInstance[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lookaside-tls-'));
    ca = makeCa(dir, 'lookaside-test-ca');
    const serverLeaf = makeLeaf(dir, ca, { name: 'server', dnsNames: ['localhost'], ips: ['127.0.0.1'] });
    clientLeaf = makeLeaf(dir, ca, { name: 'client', dnsNames: ['client.local'], ips: [], clientAuth: true });
    const tokens = join(dir, 'tokens.json');
    writeFileSync(
      tokens,
      JSON.stringify({
        tokens: [
          { name: 'echo-backends', token: REPORTER_TOKEN, report: ['echo'] },
          { name: 'echo-clients', token: CLIENT_TOKEN, read: ['echo'] },
        ],
      }),
    );
    service = await startService({
      env: {
        LOOKASIDE_TLS_CERT_FILE: serverLeaf.certFile,
        LOOKASIDE_TLS_KEY_FILE: serverLeaf.keyFile,
        LOOKASIDE_TLS_CLIENT_CA_FILE: ca.certFile,
        LOOKASIDE_AUTH_MODE: 'tokens',
        LOOKASIDE_AUTH_TOKEN_FILE: tokens,
        LOOKASIDE_AUTH_READERS: 'watch,registry,admin',
        LOOKASIDE_REPORT_INTERVAL_MS: '200',
      },
    });
  });
  after(async () => {
    for (const c of channels) c.close();
    await reporter?.stop();
    await backend?.stop();
    await service?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const mtls = () => credentials.createSsl(ca.cert, clientLeaf.key, clientLeaf.cert);
  const target = () => `localhost:${service.grpcPort}`;

  it('a reporter and a client over mTLS with tokens: calls reach the backend', async () => {
    reporter = new BackendReporter({ service: 'echo', lookasideAddress: target(), host: '127.0.0.1', credentials: mtls(), authToken: REPORTER_TOKEN, backoff: { initialMs: 50, maxMs: 500 } });
    backend = await startBackend('tls-backend', { interceptors: [reporter.interceptor] });
    reporter.attach(backend.server);
    reporter.start({ port: backend.port });
    await reporter.whenRegistered(10_000);

    const tokenFile = join(dir, 'client-token');
    writeFileSync(tokenFile, `${CLIENT_TOKEN}\n`);
    registerLookaside({ lookasideAddress: target(), lookasideCredentials: mtls(), authTokenFile: tokenFile });
    const client = echoClient('lookaside:///echo');
    channels.push(client);
    const first = await callOnce(client, 10_000, true);
    assert.equal(first.ok, true, first.error?.message);
    const { counts, failures } = await callMany(client, 20);
    assert.deepEqual(failures, []);
    assert.deepEqual([...counts], [['tls-backend', 20]]);
  });

  it('refuses clients without TLS, without a client certificate, or with one from another CA', async () => {
    const listServices = (creds: ReturnType<typeof credentials.createSsl>) => {
      const c = clients(target(), {}, creds);
      return new Promise<ListServicesResponse__Output>((resolve, reject) =>
        c.registry.ListServices({}, bearer(CLIENT_TOKEN), { deadline: Date.now() + 3000 }, (err, res) => {
          c.close();
          if (err) reject(err);
          else resolve(res!);
        }),
      ).finally(() => c.close());
    };
    assert.deepEqual((await listServices(mtls())).services.map((s) => s.name), ['echo'], 'the same call with a client certificate works');
    await assert.rejects(listServices(credentials.createInsecure() as never), (e: ServiceError) => e.code === status.UNAVAILABLE || e.code === status.DEADLINE_EXCEEDED);
    await assert.rejects(listServices(credentials.createSsl(ca.cert)), (e: ServiceError) => e.code === status.UNAVAILABLE || e.code === status.DEADLINE_EXCEEDED);
    const otherCa = makeCa(dir, 'other-ca');
    const stranger = makeLeaf(dir, otherCa, { name: 'stranger', dnsNames: ['stranger.local'], ips: [], clientAuth: true });
    await assert.rejects(listServices(credentials.createSsl(ca.cert, stranger.key, stranger.cert)), (e: ServiceError) => e.code === status.UNAVAILABLE || e.code === status.DEADLINE_EXCEEDED);
  });

  it('the admin port speaks https; its data needs a verified client certificate or a token', async () => {
    assert.equal((await httpsGet(service.httpPort, '/healthz', ca.cert)).status, 200);
    assert.equal((await httpsGet(service.httpPort, '/api/fleet', ca.cert)).status, 401);
    const fleet = await httpsGet(service.httpPort, '/api/fleet', ca.cert, clientLeaf);
    assert.equal(fleet.status, 200);
    const view = JSON.parse(fleet.body) as { services: Array<{ name: string; backends: Array<{ principal: string }> }> };
    assert.deepEqual(view.services.map((s) => s.name), ['echo']);
    assert.equal(view.services[0].backends[0].principal, 'token:echo-backends', 'the principal that registered it');
    const metrics = await httpsGet(service.httpPort, '/metrics', ca.cert, clientLeaf);
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /^lookaside_backend_weight\{service="echo",backend="127\.0\.0\.1:\d+"\} \d+/m);
    await waitFor('plain http refused', async () => {
      try {
        await fetch(`http://127.0.0.1:${service.httpPort}/healthz`);
        return undefined;
      } catch {
        return true;
      }
    });
  });
});
