/** Build an exploration's strategy by name. */
import { DelayBounded } from './delay.ts';
import { Dfs, type DfsOptions } from './dfs.ts';
import { Pct } from './pct.ts';
import { RandomWalk } from './random.ts';
import type { Strategy, StrategyOptions } from './strategy.ts';

export const STRATEGY_NAMES = ['random', 'pct', 'delay', 'dfs'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** Strategies that sample runs (each from its run seed alone); the others search a tree (core/search.ts). */
export const SAMPLING: readonly StrategyName[] = ['random', 'pct', 'delay'];

export function makeStrategy(name: StrategyName, opts: StrategyOptions & { dfs?: DfsOptions }): Strategy {
  switch (name) {
    case 'pct':
      return new Pct(opts);
    case 'delay':
      return new DelayBounded(opts);
    case 'dfs':
      return new Dfs(opts.dfs);
    default:
      return new RandomWalk();
  }
}
