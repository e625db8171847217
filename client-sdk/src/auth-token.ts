// The bearer token the SDK presents to the lookaside (README "Security"): a fixed string, or a
// file read afresh on every (re)connect, so a rotated token (a projected ServiceAccount token,
// a remounted Secret) is picked up without a restart.
import { readFileSync } from 'node:fs';
import { Metadata } from '@grpc/grpc-js';

/** Environment variable naming a token file when neither authToken nor authTokenFile is given. */
export const TOKEN_FILE_ENV = 'LOOKASIDE_TOKEN_FILE';

/** Longest token file read (a projected ServiceAccount token is about 1 KiB). */
const MAX_TOKEN_BYTES = 16 * 1024;

export interface AuthTokenOptions {
  /** Bearer token sent as `authorization: Bearer <token>` on the stream to the lookaside. */
  authToken?: string;
  /** File holding the token, read on every connect. Default: $LOOKASIDE_TOKEN_FILE. */
  authTokenFile?: string;
}

/** Where a connection's token comes from; null when none is configured. */
export type TokenSource = (() => string) | null;

export function tokenSource(options: AuthTokenOptions, env: NodeJS.ProcessEnv = process.env): TokenSource {
  if (options.authToken !== undefined && options.authTokenFile !== undefined) {
    throw new Error('lookaside: set authToken or authTokenFile, not both');
  }
  if (options.authToken !== undefined) {
    const token = options.authToken.trim();
    if (!/^[\x21-\x7e]+$/.test(token)) throw new Error('lookaside: authToken must be printable ASCII without spaces');
    return () => token;
  }
  const file = options.authTokenFile ?? (env[TOKEN_FILE_ENV]?.trim() || undefined);
  if (file === undefined) return null;
  return () => {
    const text = readFileSync(file, 'utf8');
    if (Buffer.byteLength(text) > MAX_TOKEN_BYTES) throw new Error(`lookaside: token file ${file} is over ${MAX_TOKEN_BYTES} bytes`);
    return text.trim();
  };
}

/**
 * Metadata for one stream. A token file that cannot be read now sends no token: the lookaside
 * then refuses the stream with UNAUTHENTICATED, and the usual reconnect backoff retries.
 */
export function streamMetadata(source: TokenSource): Metadata {
  const metadata = new Metadata();
  if (!source) return metadata;
  try {
    const token = source();
    if (token) metadata.set('authorization', `Bearer ${token}`);
  } catch {
    // Sent without a token; see above.
  }
  return metadata;
}
