/** Build a strategy by name for one run. */
import { Pct } from './pct.ts';
import { RandomWalk } from './random.ts';
import type { Strategy, StrategyOptions } from './strategy.ts';

export const STRATEGY_NAMES = ['random', 'pct'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

export function makeStrategy(name: StrategyName, seed: number, opts: StrategyOptions): Strategy {
  return name === 'pct' ? Pct.create(seed, opts) : RandomWalk.create(seed);
}
