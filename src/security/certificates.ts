import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server as TlsServer } from 'node:tls';
import { experimental, type ServerCredentials } from '@grpc/grpc-js';

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
  /** With it, clients must present a certificate this CA signed (gRPC) or may (https). */
  clientCaFile?: string;
}

export interface CertificateHooks {
  reloaded?(fingerprint: string): void;
  /** A changed set of files was refused (the previous one stays); called once per distinct problem. */
  failed?(error: Error): void;
}

export interface LoadedCertificates {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  /** SHA-256 fingerprint of the leaf certificate. */
  fingerprint: string;
  notAfter: Date;
}

type CaListener = (update: { caCertificate: Buffer } | null) => void;
type IdentityListener = (update: { certificate: Buffer; privateKey: Buffer } | null) => void;

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** Reads and checks the three files; throws naming the file and why. */
function loadFiles(files: CertificateFiles): LoadedCertificates {
  const cert = read(files.certFile, 'LOOKASIDE_TLS_CERT_FILE');
  const key = read(files.keyFile, 'LOOKASIDE_TLS_KEY_FILE');
  const ca = files.clientCaFile ? read(files.clientCaFile, 'LOOKASIDE_TLS_CLIENT_CA_FILE') : undefined;
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (error) {
    throw new Error(`LOOKASIDE_TLS_CERT_FILE ${files.certFile}: not a PEM certificate (${(error as Error).message})`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new Error(`LOOKASIDE_TLS_KEY_FILE ${files.keyFile}: not a PEM private key (${(error as Error).message})`);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new Error(`LOOKASIDE_TLS_KEY_FILE ${files.keyFile}: does not match the certificate in ${files.certFile}`);
  }
  if (ca) {
    const blocks = ca.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) throw new Error(`LOOKASIDE_TLS_CLIENT_CA_FILE ${files.clientCaFile}: holds no PEM certificate`);
    for (const block of blocks) {
      try {
        new X509Certificate(block);
      } catch (error) {
        throw new Error(`LOOKASIDE_TLS_CLIENT_CA_FILE ${files.clientCaFile}: a certificate in it does not parse (${(error as Error).message})`);
      }
    }
  }
  return { cert, key, ca, fingerprint: leaf.fingerprint256, notAfter: new Date(leaf.validTo) };
}

/**
 * The server's certificate, key and client CA, read from files and re-read every
 * reloadIntervalMs (a Kubernetes Secret volume swaps its files in place). A changed set that
 * does not load (a half-written pair, a key that does not match) is refused and the last good
 * set keeps serving; the next poll tries again.
 */
export class CertificateSource {
  private loaded: LoadedCertificates;
  private contentsHash: string;
  private lastProblem = '';
  private readonly timer: NodeJS.Timeout;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly tlsServers = new Set<TlsServer>();

  private constructor(
    private readonly files: CertificateFiles,
    reloadIntervalMs: number,
    private readonly hooks: CertificateHooks,
  ) {
    this.loaded = loadFiles(files);
    this.contentsHash = this.hashContents();
    this.timer = setInterval(() => this.poll(), reloadIntervalMs);
    this.timer.unref();
  }

  static load(files: CertificateFiles, reloadIntervalMs: number, hooks: CertificateHooks = {}): CertificateSource {
    return new CertificateSource(files, reloadIntervalMs, hooks);
  }

  current(): LoadedCertificates {
    return this.loaded;
  }

  /** grpc-js credentials that follow reloads; with a client CA, a verified client certificate is required. */
  grpcCredentials(): ServerCredentials {
    const identity = {
      addIdentityCertificateListener: (listener: IdentityListener) => {
        this.identityListeners.add(listener);
        // Later, not now: grpc-js adds its own watcher only after this returns.
        queueMicrotask(() => listener({ certificate: this.loaded.cert, privateKey: this.loaded.key }));
      },
      removeIdentityCertificateListener: (listener: IdentityListener) => void this.identityListeners.delete(listener),
      addCaCertificateListener: () => {},
      removeCaCertificateListener: () => {},
    };
    const ca = this.files.clientCaFile
      ? {
          addCaCertificateListener: (listener: CaListener) => {
            this.caListeners.add(listener);
            queueMicrotask(() => listener({ caCertificate: this.loaded.ca! }));
          },
          removeCaCertificateListener: (listener: CaListener) => void this.caListeners.delete(listener),
          addIdentityCertificateListener: () => {},
          removeIdentityCertificateListener: () => {},
        }
      : null;
    // grpc-js 1.14 names this function's first two parameters the wrong way round: it passes
    // them on as (identity, ca, requireClientCertificate), which is the order used here.
    const create = experimental.createCertificateProviderServerCredentials as unknown as (
      identity: experimental.CertificateProvider,
      ca: experimental.CertificateProvider | null,
      requireClientCertificate: boolean,
    ) => ServerCredentials;
    return create(identity, ca, ca !== null);
  }

  /** For https.createServer: with a client CA, certificates are asked for but checked per route (socket.authorized). */
  httpsOptions(): { cert: Buffer; key: Buffer; ca?: Buffer; requestCert?: boolean; rejectUnauthorized?: boolean } {
    const { cert, key, ca } = this.loaded;
    return ca ? { cert, key, ca, requestCert: true, rejectUnauthorized: false } : { cert, key };
  }

  /** Makes an https server serve each reloaded set to its new connections. */
  attach(server: TlsServer): void {
    this.tlsServers.add(server);
  }

  close(): void {
    clearInterval(this.timer);
    this.tlsServers.clear();
  }

  private hashContents(): string {
    const hash = createHash('sha256');
    for (const path of [this.files.certFile, this.files.keyFile, this.files.clientCaFile]) {
      if (path === undefined) continue;
      try {
        hash.update(readFileSync(path));
      } catch {
        hash.update(`missing:${path}`);
      }
      hash.update('\0');
    }
    return hash.digest('hex');
  }

  private poll(): void {
    const contents = this.hashContents();
    if (contents === this.contentsHash) return;
    try {
      const next = loadFiles(this.files);
      this.contentsHash = contents;
      this.lastProblem = '';
      const changed = next.fingerprint !== this.loaded.fingerprint || !next.key.equals(this.loaded.key) || !equalBuffers(next.ca, this.loaded.ca);
      this.loaded = next;
      if (!changed) return;
      for (const listener of this.identityListeners) listener({ certificate: next.cert, privateKey: next.key });
      if (next.ca) for (const listener of this.caListeners) listener({ caCertificate: next.ca });
      for (const server of this.tlsServers) server.setSecureContext(this.httpsOptions());
      this.hooks.reloaded?.(next.fingerprint);
    } catch (error) {
      const message = (error as Error).message;
      if (message === this.lastProblem) return;
      this.lastProblem = message;
      this.hooks.failed?.(error as Error);
    }
  }
}

function equalBuffers(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}
