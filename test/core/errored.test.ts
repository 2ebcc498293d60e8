/** A run that throws is reported as errored with its seed; the exploration goes on. */
import { describe, expect, it } from 'vitest';
import { explore } from '../../core/explore.ts';
import { runSeed } from '../../core/prng.ts';
import { iopfScenario } from '../../systems/iopf/scenario.ts';
import type { Scenario } from '../../core/model/scenario.ts';
import { iopfDefaults } from '../helpers.ts';

describe('errored runs', () => {
  it('are reported with run index, seed and error, and the other runs are unchanged', () => {
    let builds = 0;
    // The 4th world built (run 3) fails to build.
    const flaky: Scenario = {
      ...iopfScenario,
      build(p, bug, data) {
        if (++builds === 4) throw new Error('model bug: boom');
        return iopfScenario.build(p, bug, data);
      },
    };
    const o = { params: iopfDefaults(), bug: null, runs: 10, seed: 9, strategy: 'random' as const, depth: 3, maxSteps: 20000 };
    const r = explore({ ...o, scenario: flaky });
    expect(r.errored).toEqual([{ run: 3, seed: runSeed(9, 3), error: 'model bug: boom' }]);
    expect(r.runs).toBe(9);
    const clean = explore({ ...o, scenario: iopfScenario });
    expect(clean.errored).toEqual([]);
    expect(clean.runs).toBe(10);
  });
});
