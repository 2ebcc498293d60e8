/**
 * A run that throws is an errored run: its index, seed, step and the error's first line are
 * reported, the exploration goes on, and its schedule replays to the same error. A model bug
 * never reads as a kernel race.
 */
import type { IopfWorkload } from '../../systems/iopf/workload.ts';
import { describe, expect, it } from 'vitest';
import { explore } from '../../core/explore.ts';
import type { Scenario } from '../../core/model/scenario.ts';
import { runSeed } from '../../core/prng.ts';
import { replaySchedule } from '../../core/replayRun.ts';
import { iopfScenario } from '../../systems/iopf/scenario.ts';
import { iopfDefaults } from '../helpers.ts';

const o = { params: iopfDefaults(), bug: null, runs: 10, seed: 9, strategy: 'random' as const, depth: 3, maxSteps: 20000 };

describe('errored runs', () => {
  it('a world that fails to build: reported at step -1, the other runs unchanged', () => {
    let builds = 0;
    const flaky: Scenario<IopfWorkload> = {
      ...iopfScenario,
      build(p, bug, data, w) {
        if (++builds === 4) throw new Error('model bug: boom\n    at somewhere');
        return iopfScenario.build(p, bug, data, w);
      },
    };
    const r = explore({ ...o, scenario: flaky });
    expect(r.errored.map(({ schedule: _, ...e }) => e)).toEqual([{ run: 3, seed: runSeed(9, 3), step: -1, error: 'model bug: boom' }]);
    expect(r.runs).toBe(9);
    const clean = explore({ ...o, scenario: iopfScenario });
    expect(clean.errored).toEqual([]);
    expect(clean.runs).toBe(10);
  });

  it('a machine action that throws in some runs: errored at its step, the exploration goes on, the repro throws again', () => {
    // The kworker's groupFinished guard, unchanged otherwise, throws once a group of 3 faults is handled.
    type Ctx = { group: { faults: unknown[] } | null; fault: unknown };
    const variant = {
      name: 'throws',
      summary: 'test only',
      reference: 'test',
      caughtBy: [],
      provide: {
        'iopf.kworker': {
          guards: {
            groupFinished: ({ context }: { context: Ctx }) => {
              if (context.fault === null && context.group?.faults.length === 3) throw new Error('groupFinished: a model bug\nsecond line');
              return context.fault === null;
            },
          },
        },
      },
    };
    const scenario: Scenario = { ...iopfScenario, bugs: [...iopfScenario.bugs, variant as never] };
    const r = explore({ ...o, scenario, bug: 'throws', runs: 40 });
    expect(r.errored.length).toBeGreaterThan(0);
    expect(r.runs + r.errored.length).toBe(40);
    expect(r.firstViolation).toBeNull();
    const e = r.errored[0];
    expect(e.error).toBe('groupFinished: a model bug');
    expect(e.step).toBeGreaterThan(0);
    expect(e.schedule!.choices).toHaveLength(e.step + 1);
    const again = replaySchedule({ scenario, params: o.params, bug: 'throws', maxSteps: o.maxSteps }, e.schedule!);
    expect(again.error).toEqual({ step: e.step, message: 'groupFinished: a model bug' });
    expect(again.violation).toBeNull();
  });
});
