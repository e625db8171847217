import { status, type StatusObject } from '@grpc/grpc-js';

/** Bad input, named by the field it came in; the stream or call ends with INVALID_ARGUMENT. */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
    readonly code: status = status.INVALID_ARGUMENT,
  ) {
    super(`${field}: ${reason}`);
  }
}

/** The status a stream ends with for `error`: FieldErrors keep their code, anything else is INTERNAL. */
export function toStatus(error: unknown): Partial<StatusObject> {
  if (error instanceof FieldError) return { code: error.code, details: error.message };
  return { code: status.INTERNAL, details: 'internal error' };
}

/** True for INVALID_ARGUMENT input errors (refusals by auth and limits have their own counters). */
export function isBadInput(error: unknown): boolean {
  return error instanceof FieldError && error.code === status.INVALID_ARGUMENT;
}
