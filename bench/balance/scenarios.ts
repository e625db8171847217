// The scenarios: which backends exist, what happens to them when, and which window and
// backends the targets look at. Times are ms from the start of the scenario, before timeScale.
import type { ScenarioKey } from './config.js';

export interface BackendSpec {
  /** Index in the fleet; the backend answers with `b<id>`. */
  id: number;
  /** Service-time multiplier at start (2 = half capacity). */
  slowdown: number;
  /** Started this late (scale-up); absent = up before the scenario starts. */
  startAtMs?: number;
}

export interface ScenarioEvent {
  atMs: number;
  backend: number;
  /** Change the backend's behaviour... */
  set?: { slowdown?: number; failRate?: number };
  /** ...or start it. */
  start?: true;
}

export interface Scenario {
  key: ScenarioKey;
  title: string;
  /** Calls before this are warm-up: shown in the charts, left out of the table. */
  warmupMs: number;
  durationMs: number;
  backends: BackendSpec[];
  /** The load percentage is of this many full-speed backends' capacity. */
  capacityUnits: number;
  events: ScenarioEvent[];
  /** The window the scenario is about (slow phase, failing phase, after the scale-up). */
  phase: { name: string; fromMs: number; toMs: number } | null;
  /** Backends whose share of calls the targets follow. */
  focus: number[];
  /** Fleet capacity during the phase, in full-speed backends (to flag a phase over capacity). */
  phaseCapacityUnits: number;
}

const four = (slowdowns: number[] = [1, 1, 1, 1]): BackendSpec[] => slowdowns.map((slowdown, id) => ({ id, slowdown }));

export const SCENARIOS: Record<ScenarioKey, Scenario> = {
  a: {
    key: 'a',
    title: 'uneven fleet: 4 backends, b3 at half capacity',
    warmupMs: 4000,
    durationMs: 16_000,
    backends: four([1, 1, 1, 2]),
    capacityUnits: 3.5,
    events: [],
    phase: null,
    focus: [3],
    phaseCapacityUnits: 3.5,
  },
  b: {
    key: 'b',
    title: 'slow backend: b3 turns 5x slower, then recovers',
    warmupMs: 3000,
    durationMs: 20_000,
    backends: four(),
    capacityUnits: 4,
    events: [
      { atMs: 6000, backend: 3, set: { slowdown: 5 } },
      { atMs: 16_000, backend: 3, set: { slowdown: 1 } },
    ],
    phase: { name: 'slow', fromMs: 6000, toMs: 16_000 },
    focus: [3],
    phaseCapacityUnits: 3.2,
  },
  c: {
    key: 'c',
    title: 'scale-up: 3 backends, then 3 more (load % of the first 3)',
    warmupMs: 3000,
    durationMs: 14_000,
    backends: [...four([1, 1, 1]), { id: 3, slowdown: 1, startAtMs: 6000 }, { id: 4, slowdown: 1, startAtMs: 6000 }, { id: 5, slowdown: 1, startAtMs: 6000 }],
    capacityUnits: 3,
    events: [3, 4, 5].map((backend) => ({ atMs: 6000, backend, start: true as const })),
    phase: { name: 'scaled', fromMs: 6000, toMs: 14_000 },
    focus: [3, 4, 5],
    phaseCapacityUnits: 6,
  },
  d: {
    key: 'd',
    title: 'failing backend: b3 starts failing 30% of its calls',
    warmupMs: 3000,
    durationMs: 14_000,
    backends: four(),
    capacityUnits: 4,
    events: [{ atMs: 5000, backend: 3, set: { failRate: 0.3 } }],
    phase: { name: 'failing', fromMs: 5000, toMs: 14_000 },
    focus: [3],
    phaseCapacityUnits: 4,
  },
  e: {
    key: 'e',
    title: 'equal fleet: 4 alike backends, steady load',
    warmupMs: 3000,
    // Nothing happens here but the tail itself: 40 s measured (3,600 calls at 90 %) so that its
    // p99 rests on some 36 calls rather than 10, and runs agree to within about 15 %.
    durationMs: 43_000,
    backends: four(),
    capacityUnits: 4,
    events: [],
    phase: null,
    focus: [0],
    phaseCapacityUnits: 4,
  },
  f: {
    key: 'f',
    title: 'degraded fleet: b3 starts failing 15% of its calls as b2 turns 2x slower',
    warmupMs: 3000,
    durationMs: 16_000,
    backends: four(),
    capacityUnits: 4,
    events: [
      { atMs: 5000, backend: 3, set: { failRate: 0.15 } },
      { atMs: 5000, backend: 2, set: { slowdown: 2 } },
    ],
    phase: { name: 'degraded', fromMs: 5000, toMs: 16_000 },
    focus: [3],
    phaseCapacityUnits: 3.5,
  },
};

/** The scenario with every time multiplied by `scale`. */
export function scaled(s: Scenario, scale: number): Scenario {
  const t = (ms: number) => Math.round(ms * scale);
  return {
    ...s,
    warmupMs: t(s.warmupMs),
    durationMs: t(s.durationMs),
    backends: s.backends.map((b) => (b.startAtMs === undefined ? b : { ...b, startAtMs: t(b.startAtMs) })),
    events: s.events.map((e) => ({ ...e, atMs: t(e.atMs) })),
    phase: s.phase && { ...s.phase, fromMs: t(s.phase.fromMs), toMs: t(s.phase.toMs) },
  };
}
