import * as grpc from '@grpc/grpc-js';
import { freePort } from '../support/ports.js';
import { rawUnaryMethod } from '../support/raw-method.js';

/** The one method the interop backends serve; payloads are opaque bytes (the Go client sends an empty message). */
export const ECHO_METHOD = '/interop.Echo/Call';

const echoService: grpc.ServiceDefinition = { Call: rawUnaryMethod(ECHO_METHOD) };

export interface EchoBackend {
  address: string;
  port: number;
  /** The lb-token metadata of every call received, in order ('' when the call carried none). */
  readonly tokens: string[];
  /** Calls whose metadata carried more than one lb-token value. */
  readonly multiTokenCalls: number;
  stop(): Promise<void>;
}

/** A grpc-js backend on a free loopback port that answers every call and records its lb-token. */
export async function startEchoBackend(): Promise<EchoBackend> {
  const server = new grpc.Server();
  const tokens: string[] = [];
  let multiTokenCalls = 0;
  server.addService(echoService, {
    Call: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const values = call.metadata.get('lb-token');
      if (values.length > 1) multiTokenCalls++;
      tokens.push(values.length ? String(values[0]) : '');
      callback(null, Buffer.alloc(0));
    },
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
  );
  return {
    address: `127.0.0.1:${port}`,
    port,
    tokens,
    get multiTokenCalls() {
      return multiTokenCalls;
    },
    stop: async () => server.forceShutdown(),
  };
}
