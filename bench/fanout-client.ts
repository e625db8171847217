// One client process of the fan-out bench (core.bench.ts): holds its share of the assignment
// streams and reports when each saw a change. Real fleets spread their streams over many
// processes; one process decoding every stream's message would measure itself, not the replica.
// Messages from the parent (IPC): open, arm, settle, close; see FanoutCommand.
import { clients } from '../test/support/protos.js';
import { ENDPOINT_TYPE } from '../src/xds/resources.js';

export type Api = 'BalanceLoad' | 'xDS';

export type FanoutCommand =
  | { kind: 'open'; address: string; api: Api; service: string; streams: number; channels: number; firstChannel: number }
  | { kind: 'arm' }
  | { kind: 'settle' }
  | { kind: 'close' };

export type FanoutReply =
  | { kind: 'opened' }
  | { kind: 'armed' }
  /** When each stream got its first message after `arm`: performance.timeOrigin + now(). */
  | { kind: 'arrived'; at: number[] }
  | { kind: 'settled' }
  | { kind: 'error'; message: string };

/** The wall clock at sub-millisecond resolution, comparable across processes of one machine. */
export const wallClockMs = () => performance.timeOrigin + performance.now();

const send = (reply: FanoutReply) => process.send!(reply);

interface Held {
  stream: { cancel(): void; on(event: string, listener: () => void): unknown };
  received: number;
}

let held: Held[] = [];
let closeAll: () => void = () => {};
/** Message counts when armed, and when each stream first received after that. */
let armedCounts: number[] = [];
let arrivals: number[] = [];
let pendingArrivals = 0;
/** Streams yet to get the second message after arm (the change undone), once asked to settle. */
let pendingSettle = -1;

const settled = (index: number) => held[index].received >= armedCounts[index] + 2;

function onMessage(index: number): void {
  const s = held[index];
  s.received += 1;
  if (arrivals[index] === 0 && s.received === armedCounts[index] + 1) {
    arrivals[index] = wallClockMs();
    if (--pendingArrivals === 0) send({ kind: 'arrived', at: arrivals });
  }
  if (pendingSettle > 0 && s.received === armedCounts[index] + 2 && --pendingSettle === 0) send({ kind: 'settled' });
}

function open(command: Extract<FanoutCommand, { kind: 'open' }>): void {
  // Distinct channel options give distinct connections instead of one shared subchannel.
  const pool = Array.from({ length: command.channels }, (_, i) => clients(command.address, { 'bench.channel': command.firstChannel + i }));
  closeAll = () => pool.forEach((c) => c.close());
  held = Array.from({ length: command.streams }, (_, i) => {
    const c = pool[i % pool.length];
    let stream: Held['stream'];
    if (command.api === 'BalanceLoad') {
      const balance = c.loadBalancer.BalanceLoad();
      balance.write({ initialRequest: { name: command.service } });
      stream = balance;
    } else {
      const ads = c.ads.StreamAggregatedResources();
      ads.write({ node: { id: 'bench' }, typeUrl: ENDPOINT_TYPE, resourceNames: [command.service] });
      stream = ads;
    }
    stream.on('data', () => onMessage(i));
    stream.on('error', () => {});
    return { stream, received: 0 };
  });
  // BalanceLoad sends its initial response first, then the server list; xDS the resource.
  const firstAssignment = command.api === 'BalanceLoad' ? 2 : 1;
  const poll = setInterval(() => {
    if (held.every((h) => h.received >= firstAssignment)) {
      clearInterval(poll);
      send({ kind: 'opened' });
    }
  }, 50);
}

process.on('message', (command: FanoutCommand) => {
  try {
    if (command.kind === 'open') open(command);
    else if (command.kind === 'arm') {
      armedCounts = held.map((h) => h.received);
      pendingSettle = -1;
      arrivals = new Array<number>(held.length).fill(0);
      pendingArrivals = held.length;
      send({ kind: 'armed' });
    } else if (command.kind === 'settle') {
      pendingSettle = held.filter((_, i) => !settled(i)).length;
      if (pendingSettle === 0) send({ kind: 'settled' });
    } else if (command.kind === 'close') {
      for (const h of held) h.stream.cancel();
      setTimeout(() => {
        closeAll();
        process.exit(0);
      }, 200);
    }
  } catch (error) {
    send({ kind: 'error', message: (error as Error).message });
  }
});

