// Real grpc-js backends for the SDK tests: a unary Echo that answers with the backend's name,
// served over loopback, with no proto (raw bytes in and out).
import { Server, ServerCredentials, status, credentials, makeGenericClientConstructor, Metadata, type Client, type ServiceError, type ServerUnaryCall, type sendUnaryData, type ServerOptions, type ChannelOptions } from '@grpc/grpc-js';
import { rawUnaryMethod } from '../../../test/support/raw-method.js';

export const ECHO_SERVICE = { Call: rawUnaryMethod('/lookaside.test.Echo/Call') };

export const EchoClient = makeGenericClientConstructor(ECHO_SERVICE, 'Echo');
export type EchoClientInstance = Client & {
  Call(req: Buffer, md: Metadata, opts: object, cb: (err: ServiceError | null, res?: Buffer) => void): unknown;
};

export interface TestBackend {
  name: string;
  server: Server;
  port: number;
  address: string;
  calls: number;
  /** Date.now() at the first call; 0 before. */
  firstCallAt: number;
  /** lb-token values seen, by value. */
  tokens: Map<string, number>;
  /** Remote ports of the client connections seen (a reconnect shows as a new port). */
  peers: Set<string>;
  /** Calls being served right now. */
  inFlight: number;
  /** Extra delay per call, ms. */
  delayMs: number;
  stop(): Promise<void>;
}

export async function startBackend(name: string, options: ServerOptions = {}, port = 0): Promise<TestBackend> {
  const server = new Server(options);
  const backend: TestBackend = {
    name,
    server,
    port: 0,
    address: '',
    calls: 0,
    firstCallAt: 0,
    tokens: new Map(),
    peers: new Set(),
    inFlight: 0,
    delayMs: 0,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
  server.addService(ECHO_SERVICE, {
    Call: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      if (backend.calls++ === 0) backend.firstCallAt = Date.now();
      backend.inFlight++;
      for (const t of call.metadata.get('lb-token')) backend.tokens.set(String(t), (backend.tokens.get(String(t)) ?? 0) + 1);
      backend.peers.add(call.getPeer());
      const request = call.request.toString();
      const fail = request === 'fail';
      // `hold:MS` answers after MS ms (one slow call among quick ones).
      const hold = request.startsWith('hold:') ? Number(request.slice(5)) : 0;
      const done = () => {
        backend.inFlight--;
        if (fail) callback({ code: status.INTERNAL, details: `${name} failed as asked` });
        else callback(null, Buffer.from(name));
      };
      const delay = Math.max(hold, backend.delayMs);
      if (delay > 0) setTimeout(done, delay);
      else done();
    },
  });
  backend.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  backend.address = `127.0.0.1:${backend.port}`;
  return backend;
}

export function echoClient(target: string, options: ChannelOptions = {}): EchoClientInstance {
  return new EchoClient(target, credentials.createInsecure(), options) as unknown as EchoClientInstance;
}

export interface CallOutcome {
  ok: boolean;
  backend?: string;
  error?: ServiceError;
}

export function callOnce(client: EchoClientInstance, timeoutMs = 5000, waitForReady = false, payload = 'x'): Promise<CallOutcome> {
  return new Promise((resolve) => {
    client.Call(Buffer.from(payload), new Metadata({ waitForReady }), { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err) resolve({ ok: false, error: err });
      else resolve({ ok: true, backend: res!.toString() });
    });
  });
}

/** Runs `total` calls with `concurrency` in flight; returns per-backend counts and failures. */
export async function callMany(
  client: EchoClientInstance,
  total: number,
  concurrency = 10,
): Promise<{ counts: Map<string, number>; failures: CallOutcome[] }> {
  const counts = new Map<string, number>();
  const failures: CallOutcome[] = [];
  let next = 0;
  const worker = async () => {
    while (next < total) {
      next++;
      const r = await callOnce(client);
      if (r.ok) counts.set(r.backend!, (counts.get(r.backend!) ?? 0) + 1);
      else failures.push(r);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { counts, failures };
}

/**
 * Steady traffic at `rps` calls per second until stopped; records every outcome with its time.
 * Bounded: stops by itself after `maxMs`.
 */
export function steadyTraffic(client: EchoClientInstance, rps: number, maxMs = 30_000) {
  const outcomes: Array<CallOutcome & { at: number }> = [];
  const started = Date.now();
  let pending = 0;
  let stopped = false;
  const periodMs = 1000 / rps;
  let sent = 0;
  const tick = () => {
    if (stopped) return;
    const now = Date.now();
    if (now - started > maxMs) {
      stopped = true;
      return;
    }
    const due = Math.floor((now - started) / periodMs);
    while (sent < due) {
      sent++;
      pending++;
      const at = Date.now();
      void callOnce(client, 5000).then((r) => {
        pending--;
        outcomes.push({ ...r, at });
      });
    }
    timer = setTimeout(tick, 2);
  };
  let timer = setTimeout(tick, 0);
  return {
    outcomes,
    async stop(): Promise<typeof outcomes> {
      stopped = true;
      clearTimeout(timer);
      const deadline = Date.now() + 10_000;
      while (pending > 0 && Date.now() < deadline) await sleep(10);
      return outcomes;
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` every 10 ms until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean, timeoutMs: number, what = 'condition'): Promise<number> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
  return Date.now() - start;
}
