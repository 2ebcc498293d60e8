/**
 * Monitors (spec machines) and what they see. A monitor names the messages and observations it
 * watches, keeps its own state, and returns a verdict that names the offending values. Safety
 * monitors judge every step; liveness monitors judge at quiescence.
 */
import type { Observation } from './effects.ts';
import type { LockEvent } from './locks.ts';

/** One message on the bus. */
export interface Envelope {
  /** Run-local sequence number: the n-th message sent in this run. */
  id: number;
  from: string;
  to: string;
  type: string;
  payload: Record<string, unknown>;
  /** Id of the envelope whose delivery caused this send, or null for a spontaneous step. */
  cause: number | null;
}

export interface ActorObservation extends Observation {
  actor: string;
  /** Order within the step, shared with lock events (what happened first). */
  seq: number;
}

/** One scheduler step as the monitors and the trace see it. */
export interface StepRecord {
  i: number;
  /** Virtual time after the step. */
  t: number;
  /** The scheduler's choice, e.g. "iommu->iopf.dev0" or "kworker0.FAULT_STEP[lock]". */
  step: string;
  actor: string;
  event: { type: string; [k: string]: unknown };
  before: string;
  after: string;
  delivered: Envelope | null;
  sent: Envelope[];
  obs: ActorObservation[];
  locks: LockEvent[];
}

export interface ActorSnapshotView {
  /** The actor kind (namespaced, e.g. "iopf.device"). */
  kind: string;
  value: string;
  context: Record<string, unknown>;
}

export interface QuiescenceView {
  step: number;
  actors: Record<string, ActorSnapshotView>;
  undelivered: Envelope[];
  /** A piece of the scenario's shared state by name (undefined when the scenario has none by that name). */
  shared?(name: string): unknown;
}

export interface Verdict {
  message: string;
  actors: string[];
  /** Envelope ids involved. */
  messages: number[];
}

export interface MonitorInstance {
  onStep?(rec: StepRecord): Verdict | null;
  atQuiescence?(q: QuiescenceView): Verdict | null;
  /**
   * The monitor's state as plain (structured-cloneable) data, and putting it back: exhaustive
   * search restores a monitor with the world. Monitors built with `stateful` have both.
   */
  save?(): unknown;
  load?(s: unknown): void;
}

export interface Monitor {
  name: string;
  description: string;
  kind: 'safety' | 'liveness';
  /** Message types, observation kinds (`obs:<what>`) and `locks`: what this monitor needs to see. */
  observes: string[];
  create(params: Record<string, number | boolean | string>): MonitorInstance;
}

export interface Violation extends Verdict {
  monitor: string;
  step: number;
}

/**
 * A monitor instance whose whole state is one plain object `S` (Maps, Sets and arrays are fine):
 * it can be saved and loaded, so exhaustive search can restore it with the world.
 */
export function stateful<S>(
  init: S,
  handlers: { onStep?(st: S, rec: StepRecord): Verdict | null; atQuiescence?(st: S, q: QuiescenceView): Verdict | null },
): MonitorInstance {
  let st = init;
  return {
    onStep: handlers.onStep ? (rec) => handlers.onStep!(st, rec) : undefined,
    atQuiescence: handlers.atQuiescence ? (q) => handlers.atQuiescence!(st, q) : undefined,
    save: () => structuredClone(st),
    load: (s) => {
      st = structuredClone(s) as S;
    },
  };
}
