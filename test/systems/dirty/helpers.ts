/** Shared by the `dirty` tests: parameters, single runs, and hand-written workloads. */
import { runOnce, type RunResult } from '../../../core/run.ts';
import type { Params, Scenario } from '../../../core/model/scenario.ts';
import { makeStrategy, type StrategyName } from '../../../core/strategies/make.ts';
import { buildFromWorkload, dirtyScenario } from '../../../systems/dirty/scenario.ts';
import type { DirtyWorkload } from '../../../systems/dirty/types.ts';

export function dirtyParams(over: Params = {}, bug: string | null = null): Params {
  const variant = dirtyScenario.bugs.find((b) => b.name === bug);
  return { ...Object.fromEntries(dirtyScenario.parameters.map((p) => [p.name, p.default])), ...(variant?.params ?? {}), ...over };
}

export function dirtyRun(seed: number, o: { bug?: string | null; params?: Params; strategy?: StrategyName; checkFootprints?: boolean; scenario?: Scenario; onTrace?: (l: string) => void } = {}): RunResult {
  const scenario = o.scenario ?? dirtyScenario;
  const params = dirtyParams(o.params, o.bug ?? null);
  return runOnce({
    scenario,
    params,
    bug: o.bug ?? null,
    seed,
    strategy: makeStrategy(o.strategy ?? 'random', { depth: 3, steps: scenario.stepEstimate(params) }),
    maxSteps: 5000,
    checkFootprints: o.checkFootprints,
    onTrace: o.onTrace,
  });
}

/** The scenario driven by one hand-written workload. */
export function withWorkload(w: DirtyWorkload): Scenario {
  return { ...dirtyScenario, build: (p) => buildFromWorkload(p, w) };
}
