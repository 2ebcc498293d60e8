/**
 * Shrinking: a found violation's schedule gets fewer steps and no more injected faults, and the
 * result still replays strictly to the same monitor. A shrink that returned its input fails the
 * "fewer" assertions here.
 */
import { describe, expect, it } from 'vitest';
import { exploreRange } from '../../core/explore.ts';
import { replaySchedule } from '../../core/replayRun.ts';
import { injected, shrink } from '../../core/shrink.ts';
import { iopfScenario } from '../../systems/iopf/scenario.ts';
import { iopfDefaults } from '../helpers.ts';

const faults = injected;

describe('shrink', () => {
  for (const [bug, over] of [
    ['partial-leak-on-alloc-failure', { allocFailRate: 0.2 }],
    ['response-after-removal', {}],
  ] as const) {
    it(`makes a ${bug} schedule shorter with no more faults, still failing the same monitor`, () => {
      const params = iopfDefaults({ ...iopfScenario.bugs.find((b) => b.name === bug)!.params, ...over });
      const t = { scenario: iopfScenario, params, bug, maxSteps: 20000 };
      const r = exploreRange({ ...t, runs: 2000, seed: 4, strategy: 'random', depth: 3 }, { from: 0, to: 2000 });
      expect(r.failing, 'variant not found').not.toBeNull();
      const found = r.failing!.result;
      const monitor = found.violation!.monitor;
      const s = shrink(t, found.schedule, monitor);
      expect(s.result.steps).toBeLessThan(found.steps);
      expect(s.schedule.choices.length).toBeLessThan(found.schedule.choices.length);
      expect(faults(s.schedule)).toBeLessThanOrEqual(faults(found.schedule));
      const strict = replaySchedule(t, s.schedule);
      expect(strict.violation?.monitor).toBe(monitor);
      expect(strict.steps).toBe(s.schedule.choices.length);
    });
  }

  it('switches off injected faults the violation does not need', () => {
    // Many allocation failures per run; the leak needs one (the failed group allocation).
    const bug = 'partial-leak-on-alloc-failure';
    const params = iopfDefaults({ allocFailRate: 0.5 });
    const t = { scenario: iopfScenario, params, bug, maxSteps: 20000 };
    const r = exploreRange({ ...t, runs: 500, seed: 2, strategy: 'random', depth: 3 }, { from: 0, to: 500 });
    const found = r.failing!.result;
    expect(faults(found.schedule)).toBeGreaterThan(1);
    const s = shrink(t, found.schedule, found.violation!.monitor);
    expect(faults(s.schedule)).toBeLessThan(faults(found.schedule));
    expect(faults(s.schedule)).toBeGreaterThanOrEqual(1);
  });
});
