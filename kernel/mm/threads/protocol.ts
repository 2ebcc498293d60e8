/** What the main thread and a kworker thread put in the slot's mailbox. */
import type { LockEvent } from '../../../core/model/locks.ts';
import type { HistoryEvent } from '../../../core/model/executor.ts';
import type { Observation } from '../../../core/model/effects.ts';
import type { FaultOptions, FaultState } from '../handleMmFault.ts';

/** Turnstile: run one step. */
export interface StepRequest {
  who: string;
  st: FaultState;
  opts: FaultOptions;
}

export type StepReply = { next: FaultState; obs: Observation[]; locks: LockEvent[] } | { error: string };

/** Free mode: run the whole fault, with `jitter` spins (seeded) before each step. */
export interface JobRequest extends StepRequest {
  seed: number;
  jitter: number;
}

export interface JobReply {
  next?: FaultState;
  error?: string;
  cancelled?: boolean;
  events: HistoryEvent[];
}

/** The task each kworker thread runs for the whole exploration. */
export interface ThreadTask {
  sab: SharedArrayBuffer;
  slot: number;
}
