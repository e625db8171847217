import type { MethodDefinition } from '@grpc/grpc-js';

const identity = (b: Buffer) => b;

/**
 * A unary gRPC method that carries raw bytes both ways (no protobuf): what the test and
 * benchmark backends serve, so that a call costs as little CPU as gRPC allows.
 */
export function rawUnaryMethod(path: string): MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}
