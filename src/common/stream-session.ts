import type { ServerDuplexStream } from '@grpc/grpc-js';
import { toStatus } from './grpc-errors.js';

/** How long a half-close must stand before it counts as one (see the 'end' handler). */
export const HALF_CLOSE_SETTLE_MS = 50;

export interface StreamHandlers<Req> {
  /** One message; the next is not read until this settles. A throw ends the stream with its status. */
  message(message: Req): Promise<void> | void;
  /** The peer half-closed: finish up; the stream then ends with OK. */
  end(): Promise<void> | void;
  /** The stream is over, however it ended; runs exactly once. */
  closed(): void;
  /** The stream is ending with an error status (bad input, internal failure). */
  rejected?(error: unknown): void;
}

export interface StreamControl {
  /** Ends the stream with the status of `error` (e.g. a credential revoked while it is open). */
  abort(error: unknown): void;
}

/**
 * Drives a bidi stream: messages handled in order with the stream paused meanwhile (so a
 * fast peer meets backpressure instead of an unbounded queue), errors turned into a status
 * that names the bad field, and one cleanup however the stream ends.
 */
export function serveStream<Req, Res>(call: ServerDuplexStream<Req, Res>, handlers: StreamHandlers<Req>): StreamControl {
  let finished = false;
  let chain: Promise<void> = Promise.resolve();

  const close = () => {
    if (finished) return;
    finished = true;
    handlers.closed();
  };
  const fail = (error: unknown) => {
    if (finished) return;
    handlers.rejected?.(error);
    close();
    call.emit('error', toStatus(error));
  };
  const run = (step: () => Promise<void> | void, after: () => void) => {
    chain = chain
      .then(async () => {
        if (!finished) await step();
      })
      .then(() => {
        if (!finished) after();
      }, fail);
  };

  call.on('data', (message: Req) => {
    call.pause();
    run(
      () => handlers.message(message),
      () => call.resume(),
    );
  });
  call.on('end', () => {
    // A peer that resets the stream looks like a half-close at first: the readable side
    // ends about a millisecond before grpc-js marks the call cancelled. Let a reset land
    // before treating the end as a goodbye.
    const settle = setTimeout(() => {
      if (call.cancelled || call.destroyed) return close();
      run(
        () => handlers.end(),
        () => {
          close();
          call.end();
        },
      );
    }, HALF_CLOSE_SETTLE_MS);
    call.once('cancelled', () => clearTimeout(settle));
  });
  call.on('cancelled', close);
  call.on('close', close);
  call.on('error', close);
  return { abort: fail };
}
