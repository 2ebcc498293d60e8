/**
 * A scenario: topology, workload, parameters, shared state, the monitors that apply, and its
 * variants. A system registers its scenarios in systems/index.ts; the engine takes them as they are.
 */
import type { AnyStateMachine } from 'xstate';
import type { ExecModes, ExecRuntime, RunExec } from './executor.ts';
import type { ActorKind, DataPort } from './kind.ts';
import type { LockKind, LockPort } from './locks.ts';
import type { Monitor, QuiescenceView, StepRecord } from './monitor.ts';
import type { SharedState } from './shared.ts';
import type { WorkloadSpec } from './workload.ts';

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

/** Named guards and actions a variant substitutes in one machine (xstate `machine.provide`). */
export type MachineSubstitution = Parameters<AnyStateMachine['provide']>[0];

export interface BugVariant {
  name: string;
  summary: string;
  /** Kernel commit, file and function, or thread it comes from; "derived" when read from the code. */
  reference: string;
  /** Parameter defaults this variant needs to be reachable (user --set still wins). */
  params?: Params;
  /** The monitors that catch it (whichever the interleaving reaches first). */
  caughtBy: string[];
  /** By actor kind: the named guards and actions this variant substitutes. */
  provide?: Record<string, MachineSubstitution>;
}

export interface ActorSpec {
  id: string;
  kind: ActorKind;
  input: unknown;
}

/** What a run's shared state is built against. */
export interface SharedEnv {
  locks: LockPort;
  /** The exploration's execution runtime (INLINE unless the scenario offers other modes). */
  runtime: ExecRuntime;
  /** The run seed (free-mode jitter). */
  seed: number;
}

export interface SharedSetup {
  states: SharedState[];
  /** How this run's thread executor takes part (absent: inline). */
  exec?: RunExec;
}

export interface WorldSpec {
  actors: ActorSpec[];
  locks: { name: string; kind: LockKind }[];
  /** The scenario's shared state for one run. */
  shared?(env: SharedEnv): SharedSetup;
}

/** `W`: the scenario's workload (what its actors do), when it declares one (`workload`). */
export interface Scenario<W = unknown> {
  name: string;
  description: string;
  parameters: ParamSpec[];
  bugs: BugVariant[];
  monitors: Monitor[];
  /**
   * Build the world. With `workload` declared, `workload` is the run's workload: drawn by
   * `workload.draw` from `data`, or fixed (a hand-written file). Without it, `build` draws what it
   * needs from `data` itself and `workload` is undefined. Draws are recorded in the schedule.
   */
  build(params: Params, bug: string | null, data: DataPort, workload: W): WorldSpec;
  /** The workload vocabulary: lets a user fix what each actor does (`--workload FILE`). */
  workload?: WorkloadSpec<W>;
  /** Rough step count of one run, for PCT's change points. */
  stepEstimate(params: Params): number;
  /** Costs and counters of a finished run. */
  metrics(q: QuiescenceView): Record<string, number>;
  /** Optional per-run observer of every step, for metrics that need the history. */
  observer?(): { onStep(rec: StepRecord): void; result(): Record<string, number> };
  /** Derived metrics of a whole exploration (e.g. means from sums and counts). */
  derive?(totals: Record<string, number>): Record<string, number>;
  /** Execution modes besides inline (thread executors of a shared-state piece). */
  modes?: ExecModes;
}
