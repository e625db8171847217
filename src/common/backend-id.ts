import { createHash } from 'node:crypto';

/** A backend's id within its service: "host:port", "[v6]:port" for IPv6. */
export function backendId(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Printable, under grpclb's 50-byte limit, and the same on every replica. */
export function loadBalanceToken(service: string, id: string): string {
  return createHash('sha256').update(`${service}\n${id}`).digest('base64url').slice(0, 16);
}
