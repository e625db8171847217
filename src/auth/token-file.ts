import { createHash } from 'node:crypto';
import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * The token file: who may report for and read which services. JSON, so it can live in a
 * Kubernetes Secret or any secret store:
 *
 *   { "tokens": [
 *       { "name": "echo-backends", "sha256": "<hex of the token's SHA-256>", "report": ["echo"], "hosts": ["10.0.0.0/8"] },
 *       { "name": "web", "token": "<the token itself>", "read": ["echo", "shop-*"] } ] }
 *
 * Each entry has a `name` (its principal is "token:NAME") and either the `token` or its
 * `sha256` (so the file need not hold the secret). `report` and `read` list service patterns:
 * a name, `prefix*`, or `*`. `hosts` (optional) limits the addresses a reporter may register.
 */
export interface TokenEntry {
  name: string;
  /** Hex SHA-256 of the token. */
  hash: string;
  report: readonly ServicePattern[];
  read: readonly ServicePattern[];
  /** Addresses the entry may register; null = any. */
  hosts: BlockList | null;
}

export type ServicePattern = { exact: string } | { prefix: string };

export interface TokenTable {
  /** By hex SHA-256 of the token: presented tokens are hashed and looked up, never compared. */
  byHash: ReadonlyMap<string, TokenEntry>;
}

/** Entries one file may hold, and patterns or host ranges one entry may list. */
export const MAX_TOKEN_ENTRIES = 10_000;
export const MAX_ENTRY_LIST = 1000;
/** Shorter tokens are guessable. */
export const MIN_TOKEN_LENGTH = 16;
export const MAX_TOKEN_LENGTH = 4096;

const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const TOKEN = /^[\x21-\x7e]+$/;
const HEX_SHA256 = /^[0-9a-f]{64}$/;
const PATTERN = /^(?:\*|[A-Za-z0-9](?:[A-Za-z0-9._/-]{0,254})\*?)$/;
const KEYS = new Set(['name', 'token', 'sha256', 'report', 'read', 'hosts']);

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function matches(patterns: readonly ServicePattern[], service: string): boolean {
  return patterns.some((p) => ('exact' in p ? p.exact === service : service.startsWith(p.prefix)));
}

export class TokenFileError extends Error {}

function fail(where: string, why: string): never {
  throw new TokenFileError(`${where}: ${why}`);
}

function patterns(where: string, value: unknown): ServicePattern[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(where, 'must be a list of service names or patterns');
  if (value.length > MAX_ENTRY_LIST) fail(where, `has ${value.length} entries, at most ${MAX_ENTRY_LIST}`);
  return value.map((p, i) => {
    if (typeof p !== 'string' || !PATTERN.test(p)) fail(`${where}[${i}]`, 'must be a service name, "prefix*" or "*"');
    return p.endsWith('*') ? { prefix: p.slice(0, -1) } : { exact: p };
  });
}

function hosts(where: string, value: unknown): BlockList | null {
  if (value === undefined) return null;
  if (!Array.isArray(value) || value.length === 0) fail(where, 'must be a non-empty list of IP addresses or CIDR ranges');
  if (value.length > MAX_ENTRY_LIST) fail(where, `has ${value.length} entries, at most ${MAX_ENTRY_LIST}`);
  const list = new BlockList();
  value.forEach((range, i) => {
    const [address, bits, extra] = typeof range === 'string' ? range.split('/') : [];
    const family = isIPv4(address ?? '') ? 'ipv4' : isIPv6(address ?? '') ? 'ipv6' : undefined;
    const prefix = bits === undefined ? (family === 'ipv4' ? 32 : 128) : Number(bits);
    const max = family === 'ipv4' ? 32 : 128;
    if (!family || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
      fail(`${where}[${i}]`, 'must be an IP address or CIDR range such as 10.0.0.0/8');
    }
    list.addSubnet(address, prefix, family);
  });
  return list;
}

/** Parses and checks the whole file; the error names the first bad field. */
export function parseTokenFile(text: string): TokenTable {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    fail('file', `is not JSON (${(error as Error).message})`);
  }
  const list = (raw as { tokens?: unknown } | null)?.tokens;
  if (!Array.isArray(list)) fail('tokens', 'must be a list');
  if (list.length > MAX_TOKEN_ENTRIES) fail('tokens', `has ${list.length} entries, at most ${MAX_TOKEN_ENTRIES}`);
  const byHash = new Map<string, TokenEntry>();
  const names = new Set<string>();
  list.forEach((item: unknown, i) => {
    const where = `tokens[${i}]`;
    if (!item || typeof item !== 'object' || Array.isArray(item)) fail(where, 'must be an object');
    const entry = item as Record<string, unknown>;
    for (const key of Object.keys(entry)) if (!KEYS.has(key)) fail(`${where}.${key}`, `is not a known field (${[...KEYS].join(', ')})`);
    const name = entry.name;
    if (typeof name !== 'string' || !NAME.test(name)) fail(`${where}.name`, "must be 1 to 64 letters, digits, '.', '_' or '-'");
    if (names.has(name)) fail(`${where}.name`, `"${name}" is used twice`);
    names.add(name);
    let hash: string;
    if (entry.token !== undefined) {
      if (entry.sha256 !== undefined) fail(where, 'set token or sha256, not both');
      const token = entry.token;
      if (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH || token.length > MAX_TOKEN_LENGTH || !TOKEN.test(token)) {
        fail(`${where}.token`, `must be ${MIN_TOKEN_LENGTH} to ${MAX_TOKEN_LENGTH} printable characters without spaces`);
      }
      hash = hashToken(token);
    } else {
      if (typeof entry.sha256 !== 'string' || !HEX_SHA256.test(entry.sha256)) fail(`${where}.sha256`, 'must be 64 lowercase hex digits (or set token)');
      hash = entry.sha256;
    }
    if (byHash.has(hash)) fail(where, `has the same token as "${byHash.get(hash)!.name}"`);
    const report = patterns(`${where}.report`, entry.report);
    const read = patterns(`${where}.read`, entry.read);
    if (report.length === 0 && read.length === 0) fail(where, 'allows nothing: list services under report or read');
    byHash.set(hash, { name, hash, report, read, hosts: hosts(`${where}.hosts`, entry.hosts) });
  });
  return { byHash };
}
