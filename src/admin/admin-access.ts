import { TLSSocket } from 'node:tls';
import type { IncomingMessage } from 'node:http';
import { HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { status } from '@grpc/grpc-js';
import { LOOKASIDE_CONFIG, type LookasideConfig } from '../config/config.js';
import { ANONYMOUS, AuthError, AuthService, type Caller } from '../auth/auth.service.js';

const HTTP_STATUS: Partial<Record<status, HttpStatus>> = {
  [status.UNAUTHENTICATED]: HttpStatus.UNAUTHORIZED,
  [status.PERMISSION_DENIED]: HttpStatus.FORBIDDEN,
  [status.UNAVAILABLE]: HttpStatus.SERVICE_UNAVAILABLE,
};

/**
 * Who may see the admin port's data (dashboard, /api/fleet, /metrics) once "admin" is among
 * LOOKASIDE_AUTH_READERS: a client certificate verified against LOOKASIDE_TLS_CLIENT_CA_FILE
 * (what a browser can present), or a bearer token (what a scraper or script sends).
 * /healthz and /readyz stay open for probes.
 */
@Injectable()
export class AdminAccess {
  constructor(
    private readonly auth: AuthService,
    @Inject(LOOKASIDE_CONFIG) private readonly config: LookasideConfig,
  ) {}

  /** The caller of `request`; throws 401 / 403 / 503 with the reason. */
  async caller(request: IncomingMessage): Promise<Caller> {
    if (!this.auth.required('admin')) return ANONYMOUS;
    // A verified client certificate is an operator: no restriction applies.
    if (this.config.tls?.clientCaFile && request.socket instanceof TLSSocket && request.socket.authorized) return ANONYMOUS;
    try {
      return await this.auth.authenticateHeader(request.headers.authorization, 'admin');
    } catch (error) {
      throw toHttp(error);
    }
  }

  /** The caller, who must be allowed to read every service (per-backend metrics cover them all). */
  async readerOfAll(request: IncomingMessage): Promise<Caller> {
    const caller = await this.caller(request);
    if (!this.auth.readsAll(caller)) {
      this.auth.countRejection('admin', 'service');
      throw new HttpException({ status: 'forbidden', reason: 'this token may not read every service (its read list lacks "*")' }, HttpStatus.FORBIDDEN);
    }
    return caller;
  }

  readable(caller: Caller, names: string[]): string[] {
    return this.auth.readable(caller, names);
  }
}

function toHttp(error: unknown): unknown {
  if (!(error instanceof AuthError)) return error;
  const code = HTTP_STATUS[error.code] ?? HttpStatus.FORBIDDEN;
  const body = { status: 'refused', reason: error.message };
  return new HttpException(body, code, { cause: error });
}
