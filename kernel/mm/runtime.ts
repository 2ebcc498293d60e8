/**
 * How a run's memory and handle_mm_fault steps are executed: the three modes.
 *
 * - inline: main thread, plain objects, one step per scheduler choice.
 * - turnstile: SharedArrayBuffer memory; each kworker's steps run in its own worker thread, one
 *   step per turn the scheduler grants: real threads, the same trace as inline.
 * - free: the same threads without turns; every memory event is stamped from a shared Atomics
 *   counter and the monitors judge the stamped history after the run. Not replayable step for step.
 *
 * An MmRuntime lives for a whole exploration (its threads are reused by every run); `attach`
 * makes one run's RunMemory from the memory the scenario built.
 */
import type { LockTable } from '../../core/locks.ts';
import type { LockEvent } from '../../core/locks.ts';
import type { Observation } from '../../core/model/effects.ts';
import { type FaultRunner, InlineFaults } from './faultRunner.ts';
import type { MemoryPort } from './memory.ts';

export const MM_MODES = ['inline', 'turnstile', 'free'] as const;
export type MmMode = (typeof MM_MODES)[number];

/** One stamped memory event of a free-mode run: an observation or a lock operation. */
export interface HistoryEvent {
  /** Stamp from the shared Atomics clock: the order the events happened in. */
  s: number;
  actor: string;
  obs?: Observation;
  lock?: LockEvent;
}

/** One run's memory as the World uses it. */
export interface RunMemory {
  mem: MemoryPort;
  faults: FaultRunner;
  /** Free mode takes every memory observation into its stamped history (returns true). */
  observe(actor: string, o: Observation): boolean;
  /** Free mode: block until a thread finishes a fault; false when no thread work is in flight. */
  waitForProgress(): boolean;
  /** Free mode: stop and join in-flight thread work, then the stamped history in stamp order; else null. */
  history(): HistoryEvent[] | null;
  /** End of the run: join thread work and release what the main thread still holds. Idempotent. */
  close(): void;
}

export interface MmRuntime {
  mode: MmMode;
  /** Can the runtime serve another run (every thread alive)? */
  healthy(): boolean;
  attach(base: MemoryPort, locks: LockTable, seed: number): RunMemory;
  /** Replace dead threads; between runs only (it awaits their start). */
  heal(): Promise<void>;
  close(): Promise<void>;
}

export const inlineRuntime: MmRuntime = {
  mode: 'inline',
  healthy: () => true,
  attach(base: MemoryPort): RunMemory {
    return {
      mem: base,
      faults: new InlineFaults(base),
      observe: () => false,
      waitForProgress: () => false,
      history: () => null,
      close() {},
    };
  },
  heal: async () => {},
  close: async () => {},
};
