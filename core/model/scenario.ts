/**
 * A scenario: topology, workload, parameters, the monitors that apply, and its bug variants.
 */
import type { DataSource } from '../dataSource.ts';
import type { LockKind, LockTable } from '../locks.ts';
import type { ActorKind } from './kind.ts';
import type { Monitor, QuiescenceView, StepRecord } from './monitor.ts';
import type { MemoryPort } from '../../kernel/mm/memory.ts';

export type ParamValue = number | boolean | string;
export type Params = Record<string, ParamValue>;

export interface ParamSpec {
  name: string;
  description: string;
  type: 'int' | 'number' | 'boolean' | 'enum';
  default: ParamValue;
  min?: number;
  max?: number;
  values?: string[];
}

export interface BugVariant {
  name: string;
  summary: string;
  /** Kernel commit or thread it comes from. */
  reference: string;
  /** Parameter defaults this variant needs to be reachable (user --set still wins). */
  params?: Params;
  /** The monitors that catch it (whichever the interleaving reaches first). */
  caughtBy: string[];
}

export interface ActorSpec {
  id: string;
  kind: ActorKind;
  input: unknown;
}

export interface WorldSpec {
  actors: ActorSpec[];
  locks: { name: string; kind: LockKind }[];
  memory(locks: LockTable): MemoryPort;
}

export interface Scenario {
  name: string;
  description: string;
  parameters: ParamSpec[];
  bugs: BugVariant[];
  monitors: Monitor[];
  /** Build the world; workload draws come from `data` (recorded in the schedule). */
  build(params: Params, bug: string | null, data: DataSource): WorldSpec;
  /** Rough step count of one run, for PCT's change points. */
  stepEstimate(params: Params): number;
  /** Costs and counters of a finished run. */
  metrics(q: QuiescenceView): Record<string, number>;
  /** Optional per-run observer of every step, for metrics that need the history. */
  observer?(): { onStep(rec: StepRecord): void; result(): Record<string, number> };
  /** Derived metrics of a whole exploration (e.g. means from sums and counts). */
  derive?(totals: Record<string, number>): Record<string, number>;
}
