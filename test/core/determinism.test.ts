import { describe, expect, it } from 'vitest';
import { explore } from '../../core/explore.ts';
import { iopfScenario } from '../../systems/iopf/scenario.ts';
import { cli, iopfDefaults, iopfRun } from '../helpers.ts';

describe('determinism', () => {
  it('gives the identical trace for the same seed, over hundreds of seeds and both strategies', () => {
    for (const strategy of ['random', 'pct'] as const) {
      for (let seed = 0; seed < 300; seed++) {
        const a: string[] = [];
        const b: string[] = [];
        const ra = iopfRun(seed, { strategy, onTrace: (l) => a.push(l) });
        const rb = iopfRun(seed, { strategy, onTrace: (l) => b.push(l) });
        expect(rb.traceHash).toBe(ra.traceHash);
        expect(b).toEqual(a);
        expect(ra.steps).toBeGreaterThan(10);
      }
    }
  });

  it('gives different traces for different seeds', () => {
    const hashes = new Set(Array.from({ length: 50 }, (_, s) => iopfRun(s).traceHash));
    expect(hashes.size).toBe(50);
  });

  it('gives the same digest in this process and in two fresh processes', () => {
    const o = { scenario: iopfScenario, params: iopfDefaults(), bug: null, runs: 150, seed: 77, strategy: 'pct' as const, depth: 3, maxSteps: 20000 };
    const here = explore(o).digest;
    const args = ['explore', 'iopf', '--runs', '150', '--seed', '77', '--strategy', 'pct', '--json'];
    const p1 = JSON.parse(cli(args).stdout);
    const p2 = JSON.parse(cli(args).stdout);
    expect(p1.digest).toBe(here);
    expect(p2.digest).toBe(here);
    expect(p1.runs).toBe(150);
  });
});
