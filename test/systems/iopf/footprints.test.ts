/**
 * Step footprints: every step of the IOPF model takes only locks and touches only shared state
 * its actor kind declares (the world checks each executed step when asked). Partial-order
 * reduction trusts these declarations; an undeclared lock would let it treat two dependent steps
 * as independent.
 */
import { describe, expect, it } from 'vitest';
import { runSeed } from '../../../core/prng.ts';
import { runOnce } from '../../../core/run.ts';
import type { World } from '../../../core/world.ts';
import { type StrategyName, makeStrategy } from '../../../core/strategies/make.ts';
import { iopfScenario } from '../../../systems/iopf/scenario.ts';
import { iopfDefaults } from '../../helpers.ts';

/** Runs of an exploration with every step checked against its footprint: the runs that errored. */
function sweep(bug: string | null, strategy: StrategyName, runs: number, seed: number) {
  const variant = iopfScenario.bugs.find((b) => b.name === bug);
  const params = iopfDefaults(variant?.params);
  const strat = makeStrategy(strategy, { depth: 3, steps: iopfScenario.stepEstimate(params) });
  const errored: string[] = [];
  let steps = 0;
  for (let run = 0; run < runs; run++) {
    const r = runOnce({ scenario: iopfScenario, params, bug, seed: runSeed(seed, run), run, strategy: strat, maxSteps: 20000, checkFootprints: true });
    if (r.error) errored.push(`run ${run}, step ${r.error.step}: ${r.error.message}`);
    steps += r.steps;
  }
  return { errored, steps };
}

/**
 * The world checks what a step did; this checks what decided that it could run: every lock the
 * kind's `accepts` (deliveries) or `offers` (its spontaneous steps) tests, and every shared piece
 * they look at, is in the footprint of each step it enabled. Returns what was missing.
 */
function enabledness(world: World): string[] {
  const missing: string[] = [];
  for (const step of world.enabled()) {
    if (step.type === 'timer') continue;
    const m = world.members.find((x) => x.id === step.thread)!;
    const tested = new Set<string>();
    const view = {
      canTake: (l: string) => (tested.add(l), world.locks.canTake(l)),
      shared: <T>(name: string): T => (tested.add(name), world.shared.find((s) => s.name === name) as T),
    };
    if (step.type === 'deliver') m.kind.accepts?.(m.snap, { type: step.env.type, ...step.env.payload }, view);
    else m.kind.offers(m.snap, view);
    const fp = world.footprint(step);
    const declared = [...fp.locks, ...fp.reads, ...fp.writes];
    const what = step.type === 'deliver' ? `${step.key} ${step.env.type}` : step.key;
    for (const t of tested) if (!declared.includes(t)) missing.push(`${what} tests ${t}`);
  }
  return missing;
}

describe('IOPF step footprints', () => {
  for (const strategy of ['random', 'pct'] as const) {
    it(`the fixed model: 300 ${strategy} runs, every step within its footprint`, () => {
      const r = sweep(null, strategy, 300, 7);
      expect(r.errored).toEqual([]);
      expect(r.steps).toBeGreaterThan(300 * 50);
    });
  }

  it('every variant: 40 runs with each strategy, every step within its footprint', () => {
    const errored: string[] = [];
    for (const b of iopfScenario.bugs) {
      for (const strategy of ['random', 'pct'] as const) errored.push(...sweep(b.name, strategy, 40, 3).errored.map((e) => `${b.name} ${strategy}: ${e}`));
    }
    expect(errored).toEqual([]);
  });

  it('every lock and shared piece that decides whether a step can run is in its footprint (fixed model and every variant)', () => {
    const missing = new Set<string>();
    for (const bug of [null, ...iopfScenario.bugs.map((b) => b.name)]) {
      const params = iopfDefaults(iopfScenario.bugs.find((b) => b.name === bug)?.params);
      const strategy = makeStrategy('random', { depth: 3, steps: iopfScenario.stepEstimate(params) });
      for (let run = 0; run < (bug ? 10 : 100); run++) {
        runOnce({
          scenario: iopfScenario,
          params,
          bug,
          seed: runSeed(5, run),
          run,
          strategy,
          maxSteps: 20000,
          onStep: (_rec, world) => {
            for (const m of enabledness(world)) missing.add(`${bug ?? 'fixed'}: ${m.replace(/\d+/g, 'N')}`);
          },
        });
      }
    }
    expect([...missing]).toEqual([]);
  });
});
