/**
 * A strategy is a tiny object that lives for a whole exploration (as Shuttle's schedulers do): it
 * is told when a new execution starts, picks one of the steps enabled now, and decides every
 * labelled data choice the model draws (which address, whether an allocation fails). Sampling
 * strategies derive each execution from its run seed alone, so results never depend on how runs
 * are batched; an exhaustive strategy keeps its search tree across executions. One file each.
 */
export interface Choice {
  key: string;
  /** The thread of control the step belongs to (the receiving actor for a delivery). */
  thread: string;
}

/** A labelled data choice: an integer in [0, n); a yes/no draw has n = 2 and a probability p of 1. */
export interface DataDraw {
  label: string;
  n: number;
  p?: number;
  /** The outcome 1 injects a fault (an allocation failure, an unplug): shrinking turns it off. */
  fault: boolean;
}

export interface ExecutionInfo {
  /** The run's index in the exploration. */
  run: number;
  /** The run seed (derived from the exploration seed and the index). */
  seed: number;
}

export interface Strategy {
  readonly name: string;
  /** A new execution starts: reset what belongs to one run. */
  newExecution(e: ExecutionInfo): void;
  /** Index into `enabled` (never empty) of the step to run as step number `step`. */
  choose(enabled: readonly Choice[], step: number): number;
  /** The value of a data choice. */
  chooseData(d: DataDraw): number;
}

export interface StrategyOptions {
  /** PCT depth d. */
  depth: number;
  /** PCT's estimate k of the number of steps in a run. */
  steps: number;
}
