import type { ServerDuplexStream } from '@grpc/grpc-js';
import { toStatus } from './grpc-errors.js';

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

/**
 * Drives a bidi stream: messages handled in order with the stream paused meanwhile (so a
 * fast peer meets backpressure instead of an unbounded queue), errors turned into a status
 * that names the bad field, and one cleanup however the stream ends.
 */
export function serveStream<Req, Res>(call: ServerDuplexStream<Req, Res>, handlers: StreamHandlers<Req>): void {
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
  call.on('end', () =>
    run(
      () => handlers.end(),
      () => {
        close();
        call.end();
      },
    ),
  );
  call.on('cancelled', close);
  call.on('close', close);
  call.on('error', close);
}
