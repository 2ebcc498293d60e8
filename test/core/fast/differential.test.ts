/**
 * The differential check in the suite, sized for the test budget: every registered scenario, every
 * variant and the fixed model, random walk and PCT, a few seeds each, every run on the xstate engine
 * and on the fast engine, compared step for step (full trace line with the stepped actor's
 * context), then by trace hash, verdict, quiescence, metrics, schedule, error and final world hash
 * (core/engine/differential.ts). Thousands of seeds per strategy: bench/differential.ts.
 */
import { describe, expect, it } from 'vitest';
import { compareRun, describeMismatch, differential, type DiffTarget, firstDifference, runOn } from '../../../core/engine/differential.ts';
import { fastFallbacks } from '../../../core/fast/engine.ts';
import { defaultParams } from '../../../core/params.ts';
import { scenarios } from '../../../systems/index.ts';

/** Runs per (scenario, variant, strategy). */
const RUNS = 8;

describe('differential: xstate and fast engines agree step for step', () => {
  for (const sc of Object.values(scenarios)) {
    for (const bug of [null, ...sc.bugs.map((b) => b.name)]) {
      for (const strategy of ['random', 'pct'] as const) {
        it(`${sc.name} ${bug ?? '(fixed)'} ${strategy}`, () => {
          const t: DiffTarget = { scenario: sc, params: defaultParams(sc, bug), bug, strategy, depth: 3, maxSteps: 20000 };
          const d = differential(t, { seed: 7, runs: RUNS });
          expect(d.mismatches.map(describeMismatch)).toEqual([]);
          expect(d.runs).toBe(RUNS);
          expect(d.steps).toBeGreaterThan(RUNS);
          // Every machine of the scenario ran on the fast engine itself (none fell back to xstate).
          expect(Object.fromEntries(fastFallbacks())).toEqual({});
        });
      }
    }
  }

  it('a mismatch names the first differing step (two different runs compared as if one)', () => {
    const sc = Object.values(scenarios)[0];
    const t: DiffTarget = { scenario: sc, params: defaultParams(sc, null), bug: null, strategy: 'random', depth: 3, maxSteps: 20000 };
    expect(compareRun(t, 0, 1, ['fast', 'fast']).mismatch).toBeNull();
    const a = runOn('xstate', t, 0, 1);
    const b = runOn('fast', t, 0, 2);
    const first = a.lines.findIndex((l, i) => l !== b.lines[i]);
    expect(first).toBeGreaterThanOrEqual(0);
    const m = firstDifference(t, 0, 1, 'xstate', a, 'fast', b);
    expect(m).toMatchObject({ step: first, what: 'step', a: { engine: 'xstate', record: a.lines[first] }, b: { engine: 'fast', record: b.lines[first] } });
    expect(describeMismatch(m!)).toContain(`first differing step ${first}`);
    // Equal step lines but a different result: named as such, step -1.
    const c = { ...b, lines: a.lines, result: { ...a.result, metrics: { ...a.result.metrics, extra: 1 } } };
    expect(firstDifference(t, 0, 1, 'xstate', a, 'fast', c)).toMatchObject({ step: -1, what: 'metrics' });
  });
});
