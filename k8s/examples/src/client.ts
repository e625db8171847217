// Example client: one channel to lookaside:///echo, calls balanced per call by lookaside.
// Env: LOOKASIDE_ADDRESS (lookaside.lookaside.svc:50051), RATE (calls per second, default 20).
import { credentials, makeGenericClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { registerLookaside } from '@lookaside/client-sdk';
import { EchoService, type EchoReply } from './echo.js';

registerLookaside(); // reads LOOKASIDE_ADDRESS
const Echo = makeGenericClientConstructor(EchoService, 'Echo');
const client = new Echo('lookaside:///echo', credentials.createInsecure()) as any;

const rate = Number(process.env.RATE ?? 20);
const perPod = new Map<string, number>();
let failed = 0;
setInterval(() => {
  client.echo({ message: 'hi' }, (err: ServiceError | null, reply?: EchoReply) => {
    if (err) failed++;
    else perPod.set(reply!.pod, (perPod.get(reply!.pod) ?? 0) + 1);
  });
}, 1000 / rate);
setInterval(() => {
  console.log(JSON.stringify({ perPod: Object.fromEntries(perPod), failed }));
  perPod.clear();
  failed = 0;
}, 5000);
