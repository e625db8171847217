import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { CertificateSource } from '../src/security/certificates.js';
import { makeCa, makeLeaf, type Ca, type Leaf } from './support/certs.js';
import { waitFor } from './support/ports.js';

const identity = (b: Buffer) => b;
const PING = { path: '/test.Ping/Ping', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };

/** A grpc-js server on `credentials` answering one unary method. */
async function pingServer(credentials: grpc.ServerCredentials): Promise<{ port: number; stop(): void }> {
  const server = new grpc.Server();
  server.addService({ Ping: PING } as unknown as grpc.ServiceDefinition, { Ping: (_call: unknown, done: grpc.sendUnaryData<Buffer>) => done(null, Buffer.from('pong')) });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (e, p) => (e ? reject(e) : resolve(p))));
  return { port, stop: () => server.forceShutdown() };
}

function ping(port: number, credentials: grpc.ChannelCredentials): Promise<string> {
  const client = new grpc.Client(`localhost:${port}`, credentials);
  return new Promise<string>((resolve, reject) =>
    client.makeUnaryRequest(PING.path, identity, identity, Buffer.from('ping'), { deadline: Date.now() + 3000 }, (err, res) => (err ? reject(err) : resolve(res!.toString()))),
  ).finally(() => client.close());
}

/** The fingerprint of the certificate a new TLS connection to `port` is served. */
function servedFingerprint(port: number, alpn: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false, ALPNProtocols: alpn }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

describe('certificate files: load, serve, reload', () => {
  let dir: string;
  let ca: Ca;
  let otherCa: Ca;
  let first: Leaf;
  let second: Leaf;
  let client: Leaf;
  let certFile: string;
  let keyFile: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lookaside-certs-'));
    ca = makeCa(dir, 'ca');
    otherCa = makeCa(dir, 'other-ca');
    first = makeLeaf(dir, ca, { name: 'first', dnsNames: ['localhost'], ips: ['127.0.0.1'] });
    second = makeLeaf(dir, ca, { name: 'second', dnsNames: ['localhost'], ips: ['127.0.0.1'] });
    client = makeLeaf(dir, ca, { name: 'client', dnsNames: ['client'], ips: [], clientAuth: true });
    certFile = join(dir, 'tls.crt');
    keyFile = join(dir, 'tls.key');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const install = (leaf: Leaf) => {
    copyFileSync(leaf.certFile, certFile);
    copyFileSync(leaf.keyFile, keyFile);
  };

  it('refuses files that do not load, naming the file and why', () => {
    assert.throws(() => CertificateSource.load({ certFile: join(dir, 'missing.crt'), keyFile: first.keyFile }, 1000), /^Error: LOOKASIDE_TLS_CERT_FILE .*missing\.crt: ENOENT/);
    assert.throws(() => CertificateSource.load({ certFile: first.certFile, keyFile: second.keyFile }, 1000), /LOOKASIDE_TLS_KEY_FILE .*: does not match the certificate/);
    const garbage = join(dir, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate');
    assert.throws(() => CertificateSource.load({ certFile: garbage, keyFile: first.keyFile }, 1000), /LOOKASIDE_TLS_CERT_FILE .*garbage\.pem: not a PEM certificate/);
    assert.throws(() => CertificateSource.load({ certFile: first.certFile, keyFile: first.keyFile, clientCaFile: garbage }, 1000), /LOOKASIDE_TLS_CLIENT_CA_FILE .*: holds no PEM certificate/);
  });

  it('gRPC with a client CA: a client certificate from that CA is required', async () => {
    const source = CertificateSource.load({ certFile: first.certFile, keyFile: first.keyFile, clientCaFile: ca.certFile }, 1000);
    const server = await pingServer(source.grpcCredentials());
    try {
      assert.equal(await ping(server.port, grpc.credentials.createSsl(ca.cert, client.key, client.cert)), 'pong');
      await assert.rejects(ping(server.port, grpc.credentials.createSsl(ca.cert)), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
      const stranger = makeLeaf(dir, otherCa, { name: 'stranger', dnsNames: ['s'], ips: [], clientAuth: true });
      await assert.rejects(ping(server.port, grpc.credentials.createSsl(ca.cert, stranger.key, stranger.cert)), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
    } finally {
      server.stop();
      source.close();
    }
  });

  it('reloads a changed pair for new connections; a broken one is refused once and the last good one kept', async () => {
    install(first);
    const reloaded: string[] = [];
    const failures: string[] = [];
    const source = CertificateSource.load({ certFile, keyFile }, 50, { reloaded: (f) => reloaded.push(f), failed: (e) => failures.push(e.message) });
    const grpcServer = await pingServer(source.grpcCredentials());
    const https = createServer(source.httpsOptions(), (_req, res) => res.end('ok'));
    source.attach(https);
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    const httpsPort = (https.address() as AddressInfo).port;
    const firstPrint = source.current().fingerprint;
    try {
      assert.equal(await servedFingerprint(grpcServer.port, ['h2']), firstPrint);
      assert.equal(await servedFingerprint(httpsPort, ['http/1.1']), firstPrint);
      assert.equal(await ping(grpcServer.port, grpc.credentials.createSsl(ca.cert)), 'pong');

      install(second);
      await waitFor('the reload', () => (reloaded.length === 1 ? true : undefined));
      const secondPrint = source.current().fingerprint;
      assert.notEqual(secondPrint, firstPrint);
      assert.equal(reloaded[0], secondPrint);
      assert.equal(await servedFingerprint(grpcServer.port, ['h2']), secondPrint);
      assert.equal(await servedFingerprint(httpsPort, ['http/1.1']), secondPrint);
      assert.equal(await ping(grpcServer.port, grpc.credentials.createSsl(ca.cert)), 'pong');

      writeFileSync(certFile, 'garbage');
      await waitFor('the refusal', () => (failures.length === 1 ? true : undefined));
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(failures.length, 1, 'a file that stays bad is reported once');
      assert.match(failures[0], /LOOKASIDE_TLS_CERT_FILE .*tls\.crt: not a PEM certificate/);
      assert.equal(await servedFingerprint(grpcServer.port, ['h2']), secondPrint, 'still the last good certificate');
      assert.equal(await ping(grpcServer.port, grpc.credentials.createSsl(ca.cert)), 'pong');
    } finally {
      grpcServer.stop();
      https.close();
      source.close();
    }
  });

  it('https with a client CA: asks for a certificate and says whether it was verified', async () => {
    const source = CertificateSource.load({ certFile: first.certFile, keyFile: first.keyFile, clientCaFile: ca.certFile }, 1000);
    const https = createServer(source.httpsOptions(), (req, res) => res.end(String((req.socket as import('node:tls').TLSSocket).authorized)));
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    const port = (https.address() as AddressInfo).port;
    const get = (leaf?: Leaf) =>
      new Promise<string>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, servername: 'localhost', ca: ca.cert, cert: leaf?.cert, key: leaf?.key, agent: false }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve(body));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      assert.equal(await get(client), 'true');
      assert.equal(await get(), 'false');
    } finally {
      https.close();
      source.close();
    }
  });
});
