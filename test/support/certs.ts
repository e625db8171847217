// Real certificates for the TLS tests, made with the openssl CLI (EC P-256, short-lived).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Ca {
  name: string;
  certFile: string;
  keyFile: string;
  cert: Buffer;
}

export interface Leaf {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

export interface LeafOptions {
  name: string;
  dnsNames: string[];
  ips: string[];
  /** A client certificate (extendedKeyUsage clientAuth) rather than a server one. */
  clientAuth?: boolean;
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args[0]} failed (install openssl): ${stderr || (error as Error).message}`);
  }
}

export function makeCa(dir: string, name: string): Ca {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return { name, certFile, keyFile, cert: readFileSync(certFile) };
}

export function makeLeaf(dir: string, ca: Ca, options: LeafOptions): Leaf {
  const base = join(dir, `${options.name}-${ca.name}`);
  const keyFile = `${base}.key`;
  const csrFile = `${base}.csr`;
  const certFile = `${base}.crt`;
  const extFile = `${base}.ext`;
  const names = [...options.dnsNames.map((d) => `DNS:${d}`), ...options.ips.map((ip) => `IP:${ip}`)];
  writeFileSync(
    extFile,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage=${options.clientAuth ? 'clientAuth' : 'serverAuth'}`,
      ...(names.length ? [`subjectAltName=${names.join(',')}`] : []),
    ].join('\n'),
  );
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', csrFile, '-subj', `/CN=${options.name}`]);
  openssl(['x509', '-req', '-in', csrFile, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial', '-out', certFile, '-days', '2', '-extfile', extFile]);
  return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
}
