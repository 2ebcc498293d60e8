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
  /**
   * Tree search: the step the execution starts at, the world having been restored to the state
   * before it (absent or -1: from the world's building).
   */
  from?: number;
}

/** What a step may touch (see World.footprint): the actor, the channel it reads, locks, shared state. */
export interface ChoiceFootprint {
  actor: string;
  channel?: string;
  locks: readonly string[];
  reads: readonly string[];
  writes: readonly string[];
}

/**
 * What a searching strategy may ask about the state a choice is made in (the exhaustive search
 * driver, core/search.ts, passes one; sampling runs do not).
 */
export interface ChoiceContext {
  /** The footprint of `enabled[i]`. */
  footprint(i: number): ChoiceFootprint;
  /** The canonical hash of the world and the monitors' state now. */
  stateHash(): string;
}

/** `choose` returns PRUNE to end the execution here: the state needs no further exploring. */
export const PRUNE = -1;

/** How an execution of a tree search ended. */
export type ExecutionEnd = 'quiescent' | 'bound' | 'pruned' | 'violation';

export interface Strategy {
  readonly name: string;
  /** A new execution starts: reset what belongs to one run. */
  newExecution(e: ExecutionInfo): void;
  /**
   * Index into `enabled` (never empty) of the step to run as step number `step`. A tree search,
   * given `ctx`, may return PRUNE.
   */
  choose(enabled: readonly Choice[], step: number, ctx?: ChoiceContext): number;
  /** The value of a data choice. */
  chooseData(d: DataDraw): number;
  /**
   * Tree search only (absent for sampling strategies): the execution ended; return the step
   * number where the next execution departs from this one (the search driver restores the world
   * saved before that step, and replays the choices of that step up to the one that changes), or
   * null when the search is over.
   */
  backtrack?(end: ExecutionEnd, ctx?: Pick<ChoiceContext, 'stateHash'>): number | null;
}

export interface StrategyOptions {
  /** PCT depth d. */
  depth: number;
  /** PCT's and delay bounding's estimate k of the number of steps in a run. */
  steps: number;
  /** Delay bounding: deviations from the default order per run (K; default 2). */
  delays?: number;
}
