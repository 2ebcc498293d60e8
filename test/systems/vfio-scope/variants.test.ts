/**
 * Every variant is found by a short exploration and its schedule replays to the same violation;
 * with the same parameters and no variant (the substitution switched off) the model is clean,
 * so it is the substituted behaviour that is caught, not the configuration. One variant is shrunk
 * the way `explore` does it, and the shrunk repro must still fail the same monitor.
 */
import { describe, expect, it } from 'vitest';
import { explore, exploreRange } from '../../../core/explore.ts';
import { replaySchedule } from '../../../core/replayRun.ts';
import type { StrategyName } from '../../../core/strategies/make.ts';
import { scenario, variantParams } from './helpers.ts';

/** Runs each variant must be found within (random; PCT where it is quick too). */
const BUDGET = 200;
/** Runs of the same parameters without the variant that must be clean. */
const CLEAN = 100;
const PCT_TOO = new Set(['join-after-pin', 'dma-rw-count', 'detach-early-return-skips-scope', 'vpfn-alloc-leaks-pin', 'dev-counter-removed', 'promote-before-pin-completes', 'missed-group-put', 'pin-promotion-loses-dirty', 'unmap-notify-lock-order']);
/** Configurations, not code changes: unclean by design even without the substitution. */
const CONFIG_ONLY = new Set(['dev-counter-removed']);

function find(bug: string, strategy: StrategyName, runs = BUDGET) {
  const params = variantParams(bug);
  const o = { scenario, params, bug, runs, seed: 1, strategy, depth: 3, maxSteps: 20000 };
  const r = exploreRange(o, { from: 0, to: runs });
  return { params, r };
}

describe('vfio-scope variants', () => {
  for (const b of scenario.bugs) {
    const strategies: StrategyName[] = PCT_TOO.has(b.name) ? ['random', 'pct'] : ['random'];
    for (const strategy of strategies) {
      it(`${b.name}: found by ${strategy} within ${BUDGET} runs by ${b.caughtBy.join(' or ')}, and replays`, () => {
        const { params, r } = find(b.name, strategy);
        expect(r.errored).toEqual([]);
        expect(r.failing, `not found in ${BUDGET} runs`).not.toBeNull();
        const v = r.failing!.result.violation!;
        expect(b.caughtBy).toContain(v.monitor);
        const again = replaySchedule({ scenario, params, bug: b.name, maxSteps: 20000 }, r.failing!.result.schedule);
        expect(again.violation).toEqual(v);
      });
    }
    if (!CONFIG_ONLY.has(b.name)) {
      it(`${b.name}: its parameters alone (no substitution) are clean over ${CLEAN} runs`, () => {
        const params = variantParams(b.name);
        const r = exploreRange({ scenario, params, bug: null, runs: CLEAN, seed: 1, strategy: 'random', depth: 3, maxSteps: 20000 }, { from: 0, to: CLEAN });
        expect(r.errored).toEqual([]);
        expect(r.failing?.result.violation ?? null).toBeNull();
      });
    }
  }

  /** Each monitor, alone (every other monitor off), catches a variant. */
  const ALONE: Record<string, string> = {
    'scope-counter-exact': 'detach-early-return-skips-scope',
    'scope-monotone': 'promote-before-pin-completes',
    singleton: 'join-after-pin',
    'no-lost-dirty': 'detach-loses-dirty',
    'detach-populates-full': 'detach-loses-dirty',
    'dma-rw-exact': 'dma-rw-count',
    'bitmap-lifetime': 'map-without-bitmap-while-tracking',
    'pin-balance': 'vpfn-alloc-leaks-pin',
    'group-ref-balance': 'missed-group-put',
    'fields-under-lock': 'has-pinned-unlocked',
    'threads-finish': 'unmap-notify-lock-order',
    lockdep: 'unmap-notify-lock-order',
  };
  it('every monitor, alone, catches a variant within 300 runs', () => {
    expect(Object.keys(ALONE).sort()).toEqual(scenario.monitors.map((m) => m.name).sort());
    const missed: string[] = [];
    for (const [monitor, bug] of Object.entries(ALONE)) {
      const alone = { ...scenario, monitors: scenario.monitors.filter((m) => m.name === monitor) };
      const r = exploreRange({ scenario: alone, params: variantParams(bug), bug, runs: 300, seed: 1, strategy: 'random', depth: 3, maxSteps: 20000 }, { from: 0, to: 300 });
      if (r.failing?.result.violation?.monitor !== monitor) missed.push(`${monitor} (${bug})`);
    }
    expect(missed).toEqual([]);
  });

  it('a found violation shrinks to a repro that replays to the same monitor (detach-loses-dirty)', () => {
    const params = variantParams('detach-loses-dirty');
    const r = explore({ scenario, params, bug: 'detach-loses-dirty', runs: 50, seed: 1, strategy: 'random', depth: 3, maxSteps: 20000 });
    const v = r.firstViolation!;
    expect(v.monitor).toBe('detach-populates-full');
    expect(v.schedule.choices.length).toBeLessThanOrEqual(v.foundSteps);
    const again = replaySchedule({ scenario, params, bug: 'detach-loses-dirty', maxSteps: 20000 }, v.schedule);
    expect(again.violation?.monitor).toBe(v.monitor);
    expect(again.violation?.message).toBe(v.message);
  });

  it('every variant has a summary, a reference with its kernel versions, parameters and monitors that exist', () => {
    const monitors = scenario.monitors.map((m) => m.name);
    const names = scenario.bugs.map((b) => b.name);
    for (const n of ['join-after-pin', 'singleton-check-race', 'missed-group-put', 'detach-loses-dirty', 'dma-rw-count', 'detach-early-return-skips-scope', 'get-efault-shifted-bitmap', 'unmap-notify-lock-order']) expect(names).toContain(n);
    for (const b of scenario.bugs) {
      expect(b.summary.length).toBeGreaterThan(40);
      expect(b.reference).toMatch(/v\d|derived/);
      expect(b.params).toBeDefined();
      for (const m of b.caughtBy) expect(monitors).toContain(m);
    }
  });
});
