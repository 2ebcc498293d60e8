/**
 * How a run's memory and handle_mm_fault steps are executed: the mm's three modes, a plug-in of
 * the mm shared state (core/model/executor.ts).
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
import type { ExecModes, ExecRuntime, RunExec } from '../../core/model/executor.ts';
import { INLINE } from '../../core/model/executor.ts';
import type { LockPort } from '../../core/model/locks.ts';
import type { Params } from '../../core/model/scenario.ts';
import { type FaultRunner, InlineFaults } from './faultRunner.ts';
import type { MemoryPort } from './memory.ts';

export const MM_MODES = ['inline', 'turnstile', 'free'] as const;
export type MmMode = (typeof MM_MODES)[number];

/** One run's memory: the port handle_mm_fault and the process use, and where faults run. */
export interface RunMemory extends RunExec {
  mem: MemoryPort;
  faults: FaultRunner;
}

export interface MmRuntime extends ExecRuntime {
  readonly mode: MmMode;
  attach(base: MemoryPort, locks: LockPort, seed: number): RunMemory;
}

export const inlineMm: MmRuntime = {
  ...INLINE,
  mode: 'inline',
  attach(base: MemoryPort): RunMemory {
    return { mem: base, faults: new InlineFaults(base) };
  },
};

/** The runtime as the mm sees it: an exploration without a thread runtime runs inline. */
export function asMmRuntime(rt: ExecRuntime): MmRuntime {
  if (rt.mode === 'inline') return inlineMm;
  if (!('attach' in rt)) throw new Error(`execution mode ${rt.mode} is not one of the mm's (${MM_MODES.join(', ')})`);
  return rt as MmRuntime;
}

/**
 * The mm's modes for a scenario whose kworkers run handle_mm_fault; `threads` says how many
 * kworker threads a runtime needs for the given parameters.
 */
export function mmModes(threads: (p: Params) => number): ExecModes {
  return {
    names: MM_MODES,
    replayable: (mode) => mode !== 'free',
    // The thread pool (piscina) loads only when a threaded mode is asked for: `pagerace list`
    // and inline explorations never pay for it.
    create: async (mode, params) => (await import('./threads/pool.ts')).createMmRuntime(mode as MmMode, { threads: threads(params) }),
  };
}
