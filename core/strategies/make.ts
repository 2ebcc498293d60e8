/** Build an exploration's strategy by name. */
import { Pct } from './pct.ts';
import { RandomWalk } from './random.ts';
import type { Strategy, StrategyOptions } from './strategy.ts';

export const STRATEGY_NAMES = ['random', 'pct'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

export function makeStrategy(name: StrategyName, opts: StrategyOptions): Strategy {
  return name === 'pct' ? new Pct(opts) : new RandomWalk();
}
