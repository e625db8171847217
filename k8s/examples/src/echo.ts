// A tiny Echo service without .proto files: JSON over gRPC, enough for a demo.
import type { ServiceDefinition } from '@grpc/grpc-js';

export interface EchoRequest { message: string }
export interface EchoReply { message: string; pod: string }

const json = {
  serialize: (value: unknown): Buffer => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes: Buffer): any => JSON.parse(bytes.toString('utf8')),
};

export const EchoService: ServiceDefinition = {
  echo: {
    path: '/demo.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
};
