// Starting one call and waiting for a channel: shared by the balancers and the oracle.
import { Client, Metadata, type ChannelOptions, type ServiceError } from '@grpc/grpc-js';
import { backendIdOfDetails, CALL_PATH } from './wire.js';

/** Outcome callback: gRPC status code (0 = OK) and the backend that answered (-1 = unknown). */
export type Done = (code: number, backend: number) => void;

/** Short reconnect backoff everywhere, so a static list picks up a backend that starts late. */
export const CHANNEL_OPTIONS: ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 500,
};

/** Starts one call on `client` with `request` (see encodeWork) and reports its outcome. */
export function callOn(client: Client, deadlineMs: number, request: Buffer, done: Done): void {
  client.makeUnaryRequest<Buffer, Buffer>(
    CALL_PATH,
    (b) => b,
    (b) => b,
    request,
    new Metadata(),
    { deadline: Date.now() + deadlineMs },
    (err: ServiceError | null, value?: Buffer) => {
      if (err) done(err.code, backendIdOfDetails(err.details));
      else done(0, value && value.length > 1 ? Number(value.toString('latin1', 1)) : -1);
    },
  );
}

export function waitReady(client: Client, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => client.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve())));
}

