import type { Duration } from '../generated/google/protobuf/Duration.js';

export function durationOf(ms: number): Duration {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}
