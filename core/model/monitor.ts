/**
 * Monitors (spec machines). A monitor names the messages and observations it watches, keeps
 * its own state, and returns a verdict that names the offending values. Safety monitors judge
 * every step; liveness monitors judge at quiescence.
 */
import type { Envelope } from '../bus.ts';
import type { LockEvent } from '../locks.ts';
import type { Observation } from './effects.ts';

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
  kind: string;
  value: string;
  context: Record<string, unknown>;
}

export interface QuiescenceView {
  step: number;
  actors: Record<string, ActorSnapshotView>;
  undelivered: Envelope[];
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
}

export interface Monitor {
  name: string;
  description: string;
  kind: 'safety' | 'liveness';
  /** Message types and observation kinds (`obs:<what>`) this monitor needs to see. */
  observes: string[];
  create(params: Record<string, number | boolean | string>): MonitorInstance;
}

export interface Violation extends Verdict {
  monitor: string;
  step: number;
}
