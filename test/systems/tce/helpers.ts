/** Shared bits of the tce tests: parameters with a variant's own, and an exploration. */
import { explore } from '../../../core/explore.ts';
import type { Params } from '../../../core/model/scenario.ts';
import { defaultParams } from '../../../core/params.ts';
import { tceScenario } from '../../../systems/tce/scenario.ts';
import { runSeed } from '../../../core/prng.ts';
import { runOnce } from '../../../core/run.ts';
import { type StrategyName, makeStrategy } from '../../../core/strategies/make.ts';

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

/**
 * The first run of an exploration (random or pct, the run seeds `explore` derives) that a monitor
 * flags, without shrinking it: the run index and its result. Cheaper than explore() for tests
 * that only ask "found within N runs" (explore shrinks with up to 300 replays).
 */
export function firstViolation(opts: { bug: string | null; params?: Params; runs: number; seed?: number; strategy?: StrategyName }) {
  const variant = tceScenario.bugs.find((b) => b.name === opts.bug);
  const params = tceParams({ ...variant?.params, ...opts.params });
  const strategy = makeStrategy(opts.strategy ?? 'random', { depth: 3, steps: tceScenario.stepEstimate(params) });
  for (let run = 0; run < opts.runs; run++) {
    const r = runOnce({ scenario: tceScenario, params, bug: opts.bug, seed: runSeed(opts.seed ?? 1, run), run, strategy, maxSteps: 20000 });
    if (r.error) throw new Error(`run ${run} errored at step ${r.error.step}: ${r.error.message}`);
    if (r.violation) return { params, run, result: r };
  }
  return { params, run: -1, result: null };
}
