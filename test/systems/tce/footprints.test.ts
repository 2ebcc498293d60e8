/**
 * Step footprints: every step of the tce model takes only locks and touches only shared state its
 * actor kind declares (the world checks each executed step with checkFootprints), and whatever
 * decides that a step can run (locks tested by offers, shared pieces read by ready()) is in the
 * footprint too. Partial-order reduction and the snapshot hash trust these declarations.
 */
import { describe, expect, it } from 'vitest';
import { runSeed } from '../../../core/prng.ts';
import { runOnce } from '../../../core/run.ts';
import type { World } from '../../../core/world.ts';
import { type StrategyName, makeStrategy } from '../../../core/strategies/make.ts';
import { tceScenario } from '../../../systems/tce/scenario.ts';
import type { Params } from '../../../core/model/scenario.ts';
import { tceParams } from './helpers.ts';

function sweep(bug: string | null, over: Params, strategy: StrategyName, runs: number, seed: number, onStep?: (w: World) => void) {
  const params = tceParams({ ...tceScenario.bugs.find((b) => b.name === bug)?.params, ...over });
  const strat = makeStrategy(strategy, { depth: 3, steps: tceScenario.stepEstimate(params) });
  const errored: string[] = [];
  let steps = 0;
  for (let run = 0; run < runs; run++) {
    const r = runOnce({ scenario: tceScenario, params, bug, seed: runSeed(seed, run), run, strategy: strat, maxSteps: 20000, checkFootprints: true, onStep: onStep ? (_r, w) => onStep(w) : undefined });
    if (r.error) errored.push(`run ${run}, step ${r.error.step}: ${r.error.message}`);
    steps += r.steps;
  }
  return { errored, steps };
}

/** Locks and shared pieces that offers() consults for an enabled step but its footprint omits. */
function enabledness(world: World): string[] {
  const missing: string[] = [];
  for (const step of world.enabled()) {
    if (step.type !== 'internal') continue;
    const m = world.members.find((x) => x.id === step.thread)!;
    const tested = new Set<string>();
    const view = {
      canTake: (l: string, mode?: 'read' | 'write') => (tested.add(l), world.locks.canTake(l, mode)),
      shared: <T>(name: string): T => (tested.add(name), world.shared.find((s) => s.name === name) as T),
    };
    m.kind.offers(m.snap, view as never);
    const fp = world.footprint(step);
    const declared = [...(fp.locks ?? []), ...(fp.reads ?? []), ...(fp.writes ?? [])];
    for (const t of tested) if (!declared.includes(t)) missing.push(`${step.key} tests ${t}`);
  }
  return missing;
}

describe('tce step footprints', () => {
  for (const [strategy, version] of [['random', 'v2'], ['pct', 'v1']] as const) {
    it(`the fixed model (${version}): 60 ${strategy} runs, every step within its footprint`, () => {
      const r = sweep(null, { version }, strategy, 60, 7);
      expect(r.errored).toEqual([]);
      expect(r.steps).toBeGreaterThan(60 * 30);
    });
  }

  it('every variant: 6 runs with each strategy, every step within its footprint', () => {
    const errored: string[] = [];
    for (const b of tceScenario.bugs) {
      for (const strategy of ['random', 'pct'] as const) errored.push(...sweep(b.name, {}, strategy, 6, 3).errored.map((e) => `${b.name} ${strategy}: ${e}`));
    }
    expect(errored).toEqual([]);
  });

  it('what enables a step is in its footprint (fixed model, v1 and v2, 20 runs each)', () => {
    const missing = new Set<string>();
    for (const version of ['v1', 'v2']) sweep(null, { version, nvgpu: true }, 'random', 20, 5, (w) => enabledness(w).forEach((m) => missing.add(m.replace(/\d+/g, 'N'))));
    expect([...missing]).toEqual([]);
  });
});
