// The oracle: a central join-shortest-queue dispatcher. It is the only sender to its fleet and
// every call of that fleet passes through it, so the calls it has in flight to a backend are
// exactly that backend's queue plus the calls in service (loopback adds microseconds): perfect,
// instant knowledge, which no real balancer has. It places each call on a backend with the
// fewest in flight (ties broken at random). The runner gives it the whole scenario's arrival
// stream (a merged Poisson stream is Poisson), in one generator process.
//
// It knows queues, not failures: a backend that fails fast drains its queue quickly and so
// attracts calls. It is the latency reference, not an error-rate one.
import { Client, connectivityState, credentials } from '@grpc/grpc-js';
import type { Caller } from './balancers.js';
import { callOn, CHANNEL_OPTIONS, waitReady, type Done } from './calls.js';

export class JsqDispatcher implements Caller {
  private readonly clients: Array<Client | null>;
  private readonly inFlight: number[];
  /** Backends that have started and are connected. */
  private live: number[] = [];

  constructor(private readonly ports: number[], initial: number[]) {
    this.clients = ports.map(() => null);
    this.inFlight = ports.map(() => 0);
    for (const id of initial) this.connect(id);
  }

  private connect(id: number): void {
    if (this.clients[id]) return;
    const client = new Client(`ipv4:127.0.0.1:${this.ports[id]}`, credentials.createInsecure(), CHANNEL_OPTIONS);
    this.clients[id] = client;
    const channel = client.getChannel();
    const watch = () => {
      const state = channel.getConnectivityState(true);
      if (state === connectivityState.READY) {
        if (!this.live.includes(id)) this.live = [...this.live, id];
        return;
      }
      channel.watchConnectivityState(state, Infinity, watch);
    };
    watch();
  }

  call(deadlineMs: number, request: Buffer, done: Done): void {
    const live = this.live;
    if (live.length === 0) {
      done(14, -1); // UNAVAILABLE: nothing connected
      return;
    }
    // Fewest in flight; a random starting point breaks ties fairly.
    const start = Math.floor(Math.random() * live.length);
    let best = live[start];
    for (let k = 1; k < live.length; k++) {
      const id = live[(start + k) % live.length];
      if (this.inFlight[id] < this.inFlight[best]) best = id;
    }
    this.inFlight[best]++;
    callOn(this.clients[best]!, deadlineMs, request, (code, backend) => {
      this.inFlight[best]--;
      done(code, backend === -1 ? best : backend);
    });
  }

  async ready(timeoutMs: number): Promise<void> {
    await Promise.all(this.clients.filter((c): c is Client => c !== null).map((c) => waitReady(c, timeoutMs)));
    const deadline = Date.now() + timeoutMs;
    while (this.live.length < this.clients.filter(Boolean).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  }

  backendStarted(id: number): void {
    this.connect(id);
  }

  close(): void {
    for (const c of this.clients) c?.close();
  }
}
