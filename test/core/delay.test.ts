/**
 * Delay bounding: with K delays a run deviates from the default order at most K times, and some
 * runs deviate exactly K times (a bound off by one either way fails); K = 0 is the default order
 * itself, the same run for every seed.
 */
import { describe, expect, it } from 'vitest';
import { runOnce } from '../../core/run.ts';
import { DelayBounded } from '../../core/strategies/delay.ts';
import { iopfScenario } from '../../systems/iopf/scenario.ts';
import { iopfDefaults } from '../helpers.ts';

const params = iopfDefaults({ unplugRate: 0, allocFailRate: 0, unrecoverableRate: 0, userFaultRate: 0 });

function deviations(k: number, seeds: number): { devs: number[]; hashes: Set<string> } {
  const st = new DelayBounded({ depth: 3, steps: 40, delays: k });
  const devs: number[] = [];
  const hashes = new Set<string>();
  for (let seed = 1; seed <= seeds; seed++) {
    const r = runOnce({ scenario: iopfScenario, params, bug: null, seed, strategy: st, maxSteps: 20000 });
    devs.push(st.deviations);
    hashes.add(r.schedule.choices.join(' '));
  }
  return { devs, hashes };
}

describe('delay bounding', () => {
  it('K = 0 follows the default order: no deviation', () => {
    expect(Math.max(...deviations(0, 10).devs)).toBe(0);
  });

  for (const k of [1, 2, 3]) {
    it(`K = ${k}: at most ${k} deviations per run, exactly ${k} in some`, () => {
      const { devs, hashes } = deviations(k, 40);
      expect(Math.max(...devs)).toBe(k);
      expect(hashes.size).toBeGreaterThan(1);
    });
  }
});
