// Example backend: a grpc-js server that reports its load to lookaside and drains on SIGTERM.
// Env: PORT (default 50051), LOOKASIDE_ADDRESS (lookaside.lookaside.svc:50051), POD_IP, NODE_ZONE.
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { hostname } from 'node:os';
import { BackendReporter } from '@lookaside/client-sdk';
import { EchoService, type EchoReply, type EchoRequest } from './echo.js';

const port = Number(process.env.PORT ?? 50051);
const server = new Server();
server.addService(EchoService, {
  echo: (call: ServerUnaryCall<EchoRequest, EchoReply>, done: sendUnaryData<EchoReply>) =>
    done(null, { message: call.request.message, pod: hostname() }),
});

// The service name is the one clients dial (lookaside:///echo). In a cluster, lookaside accepts
// this pod's reports only if POD_IP:port is in the EndpointSlices of the Service serving "echo".
const reporter = new BackendReporter({ service: 'echo', zone: process.env.NODE_ZONE ?? '' }).attach(server);

server.bindAsync(`0.0.0.0:${port}`, ServerCredentials.createInsecure(), (err, bound) => {
  if (err) throw err;
  reporter.start({ port: bound });
  console.log(`echo backend on :${bound}, reporting to ${process.env.LOOKASIDE_ADDRESS}`);
});

process.once('SIGTERM', async () => {
  // Announce draining, wait until clients stop sending, then close the server.
  const result = await reporter.drain();
  console.log(`drained in ${result.waitedMs} ms (${result.shutdown})`);
  process.exit(0);
});
