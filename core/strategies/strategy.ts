/**
 * A scheduling strategy is a tiny object: given the steps enabled now, choose one; and clone
 * itself. Each strategy lives in its own file; a schedule records the keys it chose.
 */
export interface Choice {
  key: string;
  /** The thread of control the step belongs to (the receiving actor for a delivery). */
  thread: string;
}

export interface Strategy {
  readonly name: string;
  /** Index into `enabled` (never empty) of the step to run as step number `step`. */
  choose(enabled: readonly Choice[], step: number): number;
  clone(): Strategy;
}

export interface StrategyOptions {
  /** PCT depth d. */
  depth: number;
  /** PCT's estimate k of the number of steps in a run. */
  steps: number;
}
