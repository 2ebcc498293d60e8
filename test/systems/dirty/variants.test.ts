/**
 * Every `dirty` variant is found by sampling, by a monitor it names, and its schedule replays to
 * the same violation. Finding uses exploreRange (no shrinking: that is slow and is covered once,
 * below); the 20,000-run figures are measured with `pagerace explore` (docs/dirty.md).
 */
import { describe, expect, it } from 'vitest';
import { explore, exploreRange } from '../../../core/explore.ts';
import { replaySchedule } from '../../../core/replayRun.ts';
import { dirtyScenario } from '../../../systems/dirty/scenario.ts';
import type { Params } from '../../../core/model/scenario.ts';
import { dirtyParams } from './helpers.ts';

/** Runs allowed to find each variant (random strategy, seed 1): all are found in a few. */
const BUDGET = 400;

describe('dirty bug variants', () => {
  for (const bug of dirtyScenario.bugs) {
    it(`${bug.name} is found within ${BUDGET} random runs by ${bug.caughtBy.join(' or ')}, and replays`, () => {
      const params = dirtyParams({}, bug.name);
      const r = exploreRange({ scenario: dirtyScenario, params, bug: bug.name, runs: BUDGET, seed: 1, strategy: 'random', depth: 3, maxSteps: 20000 }, { from: 0, to: BUDGET });
      expect(r.errored).toEqual([]);
      expect(r.failing, `not found in ${BUDGET} runs`).not.toBeNull();
      const v = r.failing!.result.violation!;
      expect(bug.caughtBy).toContain(v.monitor);
      const again = replaySchedule({ scenario: dirtyScenario, params, bug: bug.name, maxSteps: 20000 }, r.failing!.result.schedule);
      expect(again.violation?.monitor).toBe(v.monitor);
      expect(again.violation?.step).toBe(v.step);
      expect(again.violation?.message).toBe(v.message);
    });
  }

  // Monitors that the loop above never sees first (another monitor catches their variant earlier):
  // each alone, with every other monitor removed, still catches a variant that breaks what it guards.
  const ALONE: [string, string, Params][] = [
    ['dirty-clear-idempotent', 'visit-dirty-clears-copy', {}],
    ['dirty-bounded-over-report', 'visit-dirty-nonleaf', { tableIgnoredBits: 'random' }],
    ['no-use-after-free', 'split-race-does-not-exist', { bbml: 2 }],
  ];
  for (const [monitor, bug, over] of ALONE) {
    it(`${monitor} alone catches ${bug} ${JSON.stringify(over)} within ${BUDGET} random runs`, () => {
      const scenario = { ...dirtyScenario, monitors: dirtyScenario.monitors.filter((m) => m.name === monitor) };
      const params = dirtyParams(over, bug);
      const r = exploreRange({ scenario, params, bug, runs: BUDGET, seed: 1, strategy: 'random', depth: 3, maxSteps: 20000 }, { from: 0, to: BUDGET });
      expect(r.failing?.result.violation?.monitor, `not found in ${BUDGET} runs`).toBe(monitor);
    });
  }

  it('a found violation is shrunk and the shrunk schedule replays strictly', () => {
    const bug = 'no-iotlb-sync-after-clear';
    const params = dirtyParams({}, bug);
    const r = explore({ scenario: dirtyScenario, params, bug, runs: 50, seed: 1, strategy: 'random', depth: 3, maxSteps: 20000 });
    const v = r.firstViolation!;
    expect(v.monitor).toBe('dirty-tlb-after-clear');
    expect(v.step).toBeLessThanOrEqual(v.foundSteps);
    const again = replaySchedule({ scenario: dirtyScenario, params, bug, maxSteps: 20000 }, v.schedule);
    expect(again.violation?.message).toBe(v.message);
  });

  it('every variant has a summary, a reference, monitors that exist, and substitutes a named behaviour', () => {
    const monitors = dirtyScenario.monitors.map((m) => m.name);
    expect(dirtyScenario.bugs.length).toBeGreaterThanOrEqual(9);
    const required = ['split-race-does-not-exist', 'split-on-unmap-bbm0', 'visit-dirty-clears-copy', 'visit-dirty-nonleaf', 'iova-bitmap-beyond-mapped', 'iova-bitmap-u8', 'unmap-drops-dirty', 'stale-block-tlb-after-split', 'no-iotlb-sync-after-clear'];
    for (const n of required) expect(dirtyScenario.bugs.map((b) => b.name)).toContain(n);
    for (const b of dirtyScenario.bugs) {
      expect(b.summary.length).toBeGreaterThan(40);
      expect(b.reference.length).toBeGreaterThan(20);
      for (const m of b.caughtBy) expect(monitors).toContain(m);
      expect(Object.keys(b.provide ?? {}).length).toBeGreaterThan(0);
    }
  });
});
