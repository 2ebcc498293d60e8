/** Shared bits of the tce tests: parameters with a variant's own, and an exploration. */
import { explore } from '../../../core/explore.ts';
import type { Params } from '../../../core/model/scenario.ts';
import { defaultParams } from '../../../core/params.ts';
import { tceScenario } from '../../../systems/tce/scenario.ts';

export function tceParams(over: Params = {}): Params {
  return { ...defaultParams(tceScenario), ...over };
}

export function tceExplore(opts: { bug?: string | null; params?: Params; runs: number; seed?: number; strategy?: 'random' | 'pct' }) {
  const variant = tceScenario.bugs.find((b) => b.name === opts.bug);
  const params = tceParams({ ...variant?.params, ...opts.params });
  return {
    params,
    result: explore({ scenario: tceScenario, params, bug: opts.bug ?? null, runs: opts.runs, seed: opts.seed ?? 1, strategy: opts.strategy ?? 'random', depth: 3, maxSteps: 20000 }),
  };
}
