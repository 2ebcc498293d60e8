/**
 * Every tce bug variant is found by a random walk within BUDGET runs, by a monitor it names, and
 * its run's recorded schedule (the repro before shrinking; test/systems/tce/inspector.test.ts
 * shrinks one through the CLI) replays to the same monitor, step and message.
 */
import { describe, expect, it } from 'vitest';
import { replaySchedule } from '../../../core/replayRun.ts';
import { tceScenario } from '../../../systems/tce/scenario.ts';
import { firstViolation } from './helpers.ts';

/** Runs a variant may take; the slowest (register-tcemem-orphan) needs 98 with seed 1. */
const BUDGET = 150;

/** The variants issue 12 names; the others are extra. */
const NAMED = [
  'seed-missing-return-after-gup',
  'seed-kmalloc-and-silent-overlap',
  'tce-level-alloc-race',
  'h-put-tce-indirect-toctou',
  'mm-iommu-deadlock',
  'mm-iommu-put-page-on-phys',
  'unpin-before-kill',
  'unregister-ebusy-swallowed',
];

describe('tce bug variants', () => {
  for (const bug of tceScenario.bugs) {
    it(`${bug.name} is found by random within ${BUDGET} runs and its repro replays to ${bug.caughtBy.join(' or ')}`, () => {
      const { params, result: r } = firstViolation({ bug: bug.name, runs: BUDGET });
      expect(r?.violation, `not found in ${BUDGET} runs`).toBeTruthy();
      const v = r!.violation!;
      expect(bug.caughtBy).toContain(v.monitor);
      const again = replaySchedule({ scenario: tceScenario, params, bug: bug.name, maxSteps: 20000 }, r!.schedule);
      expect(again.violation?.monitor).toBe(v.monitor);
      expect(again.violation?.step).toBe(v.step);
      expect(again.violation?.message).toBe(v.message);
    });
  }

  it('the named variants exist; every variant has a summary, a reference and monitors that exist', () => {
    const names = tceScenario.bugs.map((b) => b.name);
    for (const n of NAMED) expect(names).toContain(n);
    const monitors = tceScenario.monitors.map((m) => m.name);
    for (const b of tceScenario.bugs) {
      expect(b.summary.length).toBeGreaterThan(20);
      expect(b.reference).toMatch(/commit [0-9a-f]{12}|seed thread|derived from the code/);
      for (const m of b.caughtBy) expect(monitors).toContain(m);
    }
  });
});
