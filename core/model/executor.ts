/**
 * Where a step's code runs. Most systems run everything inline on the main thread. A shared-state
 * piece may bring thread executors (the mm's turnstile and free modes: real worker threads racing
 * for real); the engine knows them only through these interfaces. An ExecRuntime lives for a whole
 * exploration (its threads are reused by every run); a run's shared state is built against it and
 * gives the world a RunExec for that run.
 */
import type { Observation } from './effects.ts';
import type { LockEvent } from './locks.ts';

export interface ExecRuntime {
  /** The mode's name, e.g. "inline", "turnstile", "free". */
  readonly mode: string;
  /** Can the runtime serve another run (every thread alive)? */
  healthy(): boolean;
  /** Replace dead threads; between runs only. */
  heal(): Promise<void>;
  close(): Promise<void>;
}

/** One stamped event of a run whose threads raced freely: an observation or a lock operation. */
export interface HistoryEvent {
  /** Stamp from a shared clock: the order the events happened in. */
  s: number;
  actor: string;
  obs?: Observation;
  lock?: LockEvent;
}

/** One run's view of its executor. Every member is optional: inline needs none of them. */
export interface RunExec {
  /** Take an observation into the run's stamped history instead of the step (return true). */
  divert?(actor: string, o: Observation): boolean;
  /** Nothing can run now: block until a thread finishes its work; false when none is in flight. */
  waitForProgress?(): boolean;
  /** After the run: stop and join thread work, then the stamped history in stamp order (null: none). */
  history?(): HistoryEvent[] | null;
  /** End of the run: join thread work and release what the main thread still holds. Idempotent. */
  close?(): void;
}

/** The main thread, one step at a time: the only mode of a system without thread executors. */
export const INLINE: ExecRuntime = {
  mode: 'inline',
  healthy: () => true,
  heal: async () => {},
  close: async () => {},
};

/** The execution modes a scenario offers besides inline. */
export interface ExecModes {
  /** Every mode name, inline first. */
  names: readonly string[];
  /** Does a run in this mode give the same trace as inline (so it can be shrunk and replayed step for step)? */
  replayable(mode: string): boolean;
  /** The runtime of a mode for an exploration with these parameters. */
  create(mode: string, params: Record<string, number | boolean | string>): Promise<ExecRuntime>;
}
