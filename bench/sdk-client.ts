// Child process of bench/sdk-throughput.ts: one client channel, so the two channels under
// comparison never share a V8 heap or JIT state. argv: "round_robin" and the backends'
// addresses, or "lookaside" and the lookaside's address; then concurrency, payload bytes and
// "lb-token" or "no-lb-token" (lookaside.send_lb_token for the lookaside channel). Over IPC it answers each
// { seconds } with that round's Round (see sdk-throughput.ts), once { ready } is sent.
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { CHANNEL_OPTION, registerLookaside } from '../client-sdk/src/index.js';
import { EchoClient, type EchoClientInstance } from '../client-sdk/test/support/backends.js';

const [mode, address, concurrency, payloadBytes, lbToken] = process.argv.slice(2);
const CONCURRENCY = Number(concurrency);
const PAYLOAD = Buffer.alloc(Number(payloadBytes), 7);

let client: EchoClientInstance;
if (mode === 'lookaside') {
  registerLookaside({ lookasideAddress: address });
  client = new EchoClient('lookaside:///bench', credentials.createInsecure(), {
    [CHANNEL_OPTION.sendLoadBalanceToken]: lbToken === 'lb-token',
  }) as unknown as EchoClientInstance;
} else {
  const serviceConfig = { loadBalancingConfig: [{ round_robin: {} }] };
  client = new EchoClient(`ipv4:${address}`, credentials.createInsecure(), {
    'grpc.service_config': JSON.stringify(serviceConfig),
  }) as unknown as EchoClientInstance;
}

async function measure(seconds: number) {
  const end = Date.now() + seconds * 1000;
  let done = 0;
  let failed = 0;
  const worker = () =>
    new Promise<void>((resolve) => {
      const next = () => {
        if (Date.now() >= end) return resolve();
        client.Call(PAYLOAD, new Metadata(), {}, (err: ServiceError | null) => {
          if (err) failed++;
          else done++;
          next();
        });
      };
      next();
    });
  const start = Date.now();
  const cpu = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const used = process.cpuUsage(cpu);
  return { rate: (done * 1000) / (Date.now() - start), cpuPerCall: (used.user + used.system) / Math.max(1, done), failed };
}

// Any other message, or the parent going away, ends the process.
process.on('disconnect', () => process.exit(0));
process.on('message', (message: { seconds?: number }) => {
  if (typeof message.seconds !== 'number') {
    client.close();
    process.exit(0);
  }
  void measure(message.seconds).then((round) => process.send!(round));
});
process.send!({ ready: true });
