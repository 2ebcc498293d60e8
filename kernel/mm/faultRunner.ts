/**
 * Where a kworker's handle_mm_fault steps run. The kworker machine asks its runner whether its
 * next step can run and has it run that step; inline mode runs it here on the main thread,
 * the turnstile and free modes in the kworker's own thread (workers/mm/threads/).
 */
import { type FaultOptions, type FaultState, canStep, step } from './handleMmFault.ts';
import type { MemoryPort } from './memory.ts';

export interface FaultRunner {
  /** Can `who`'s next step run now? Pure with respect to the run (free mode: is the thread's work ready?). */
  canStep(who: string, st: FaultState, opts: FaultOptions): boolean;
  /** Run `who`'s next step and return the new state. */
  step(who: string, st: FaultState, opts: FaultOptions): FaultState;
}

export class InlineFaults implements FaultRunner {
  constructor(private readonly mem: MemoryPort) {}

  canStep(_who: string, st: FaultState, opts: FaultOptions): boolean {
    return canStep(this.mem, st, opts);
  }

  step(who: string, st: FaultState, opts: FaultOptions): FaultState {
    return step(this.mem, st, who, opts);
  }
}
