import { describe, expect, it } from 'vitest';
import { replaySchedule } from '../../core/replayRun.ts';
import { shrink } from '../../core/shrink.ts';
import { iopfScenario } from '../../systems/iopf/scenario.ts';
import { iopfDefaults, iopfRun } from '../helpers.ts';

const target = (bug: string | null) => ({ scenario: iopfScenario, params: iopfDefaults(), bug, maxSteps: 20000 });

describe('replay', () => {
  it('reproduces a clean run exactly from its schedule', () => {
    for (let seed = 0; seed < 40; seed++) {
      const r = iopfRun(seed, { strategy: 'pct' });
      const again = replaySchedule(target(null), r.schedule);
      expect(again.traceHash).toBe(r.traceHash);
      expect(again.steps).toBe(r.steps);
      expect(again.divergence).toBeUndefined();
    }
  });

  it('says at which step and what it expected when the schedule no longer fits', () => {
    const r = iopfRun(3);
    const choices = [...r.schedule.choices];
    choices[7] = 'dev7.ISSUE';
    const bad = replaySchedule(target(null), { ...r.schedule, choices });
    expect(bad.divergence).toMatchObject({ step: 7, expected: 'dev7.ISSUE' });
    expect(bad.divergence!.enabled).toContain(r.schedule.choices[7]);
    expect(bad.divergence!.message).toMatch(/step 7: the schedule chose "dev7.ISSUE" but the model offers/);

    const short = replaySchedule(target(null), { ...r.schedule, choices: choices.slice(0, 5) });
    expect(short.divergence).toMatchObject({ step: 5, expected: '(end of schedule)' });
  });

  it('reports a data divergence when the model asks for a different data choice', () => {
    const r = iopfRun(3);
    const data = r.schedule.data.map((d, i) => (i === 0 ? { ...d, label: 'something-else' } : d));
    const bad = replaySchedule(target(null), { ...r.schedule, data });
    expect(bad.divergence?.message).toMatch(/data choice 0/);
  });

  it('shrinks a failing schedule to one that still fails the same monitor and replays strictly', () => {
    let found = null;
    for (let seed = 0; seed < 200 && !found; seed++) {
      const r = iopfRun(seed, { bug: 'response-missing-pasid' });
      if (r.violation) found = r;
    }
    expect(found).not.toBeNull();
    const s = shrink(target('response-missing-pasid'), found!.schedule, found!.violation!.monitor);
    expect(s.result.violation?.monitor).toBe('response-matches-request');
    expect(s.result.steps).toBeLessThanOrEqual(found!.steps);
    const strict = replaySchedule(target('response-missing-pasid'), s.schedule);
    expect(strict.violation?.monitor).toBe('response-matches-request');
    expect(strict.traceHash).toBe(s.result.traceHash);
  });
});
