// A test's own view of what the lookaside tells clients: a plain Watch stream.
import { credentials } from '@grpc/grpc-js';
import type { Assignment__Output } from '../../src/generated/lookaside/v1/Assignment.js';
import { lookasideProtos } from '../../src/protos.js';

export interface Observer {
  latest(): Assignment__Output | undefined;
  all: Assignment__Output[];
  close(): void;
}

export function observe(address: string, service: string): Observer {
  const Assignments = lookasideProtos().assignments.lookaside.v1.Assignments;
  const client = new Assignments(address, credentials.createInsecure());
  const call = client.Watch();
  const all: Assignment__Output[] = [];
  call.on('data', (a: Assignment__Output) => all.push(a));
  call.on('error', () => {});
  call.write({ start: { service } });
  return {
    all,
    latest: () => all.at(-1),
    close: () => {
      call.cancel();
      client.close();
    },
  };
}
