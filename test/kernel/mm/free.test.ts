/**
 * Free mode: the kworker threads run handle_mm_fault without turns, with real Atomics locks,
 * racing the process's munmap/mprotect; the stamped history is judged after each run. The fixed
 * model stays clean; the lock-omission variant is found.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explore } from '../../../core/explore.ts';
import { iopfScenario } from '../../../systems/iopf/scenario.ts';
import type { MmRuntime } from '../../../kernel/mm/runtime.ts';
import { createMmRuntime } from '../../../kernel/mm/threads/pool.ts';
import { iopfDefaults } from '../../helpers.ts';

let mm: MmRuntime;
beforeAll(async () => {
  mm = await createMmRuntime('free', { threads: 2 });
});
afterAll(async () => {
  await mm.close();
});

const base = { scenario: iopfScenario, strategy: 'random' as const, depth: 3, maxSteps: 20000, mode: 'free' as const };

describe('free mode', () => {
  it('is clean on the fixed model, with the mm variants’ parameters too', () => {
    for (const params of [iopfDefaults(), iopfDefaults({ mmOps: 6, pages: 4 })]) {
      const r = explore({ ...base, params, bug: null, runs: 250, seed: 8, runtime: mm });
      expect(r.firstViolation).toBeNull();
      expect(r.errored).toEqual([]);
      expect(r.metrics.quiescentRuns).toBe(250);
    }
  });

  it('finds fault-without-mmap-lock from the stamped history', () => {
    const bug = iopfScenario.bugs.find((b) => b.name === 'fault-without-mmap-lock')!;
    // Real races: how many runs it takes varies with timing (typically tens to a few hundred).
    const r = explore({ ...base, params: iopfDefaults(bug.params), bug: bug.name, runs: 5000, seed: 1, runtime: mm });
    expect(r.firstViolation, `not found in ${r.runs} free runs`).not.toBeNull();
    expect(bug.caughtBy).toContain(r.firstViolation!.monitor);
    expect(r.firstViolation!.message).toMatch(/^free-mode history, stamp \d+: /);
    expect(r.errored).toEqual([]);
  });
});
