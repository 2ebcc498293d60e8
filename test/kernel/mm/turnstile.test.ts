/**
 * Turnstile mode: kworkers' handle_mm_fault steps run in real piscina threads, one step per turn
 * the scheduler grants, and the trace is inline mode's byte for byte.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explore } from '../../../core/explore.ts';
import { replaySchedule } from '../../../core/replayRun.ts';
import { runOnce } from '../../../core/run.ts';
import { makeStrategy, type StrategyName } from '../../../core/strategies/make.ts';
import { iopfScenario } from '../../../systems/iopf/scenario.ts';
import type { MmRuntime } from '../../../kernel/mm/runtime.ts';
import { ThreadedRuntime, createMmRuntime } from '../../../kernel/mm/threads/pool.ts';
import { iopfDefaults } from '../../helpers.ts';

let mm: MmRuntime;
beforeAll(async () => {
  mm = await createMmRuntime('turnstile', { threads: 2 });
});
afterAll(async () => {
  await mm.close();
});

function trace(seed: number, strategy: StrategyName, bug: string | null, m?: MmRuntime) {
  const lines: string[] = [];
  const params = iopfDefaults(iopfScenario.bugs.find((b) => b.name === bug)?.params);
  const r = runOnce({
    scenario: iopfScenario,
    params,
    bug,
    seed,
    strategy: makeStrategy(strategy, { depth: 3, steps: iopfScenario.stepEstimate(params) }),
    maxSteps: 20000,
    onTrace: (l) => lines.push(l),
    runtime: m,
  });
  return { r, lines };
}

describe('turnstile mode', () => {
  it('runs the faults in real worker threads', () => {
    const rt = mm as ThreadedRuntime;
    expect(rt.pool.threads).toHaveLength(2);
    const tids = [1, 2].map((s) => rt.sh.threadIdOf(s));
    expect(tids.every((t) => t > 0)).toBe(true);
    expect(new Set(rt.pool.threads.map((t) => t.threadId))).toEqual(new Set(tids));
  });

  it('gives inline mode’s trace byte for byte (both strategies, fixed model and the mm variants)', () => {
    for (const bug of [null, 'fault-without-mmap-lock', 'fault-install-without-ptl']) {
      for (const strategy of ['random', 'pct'] as const) {
        for (let seed = 0; seed < 8; seed++) {
          const a = trace(seed, strategy, bug);
          const b = trace(seed, strategy, bug, mm);
          expect(b.lines).toEqual(a.lines);
          expect(b.r.traceHash).toBe(a.r.traceHash);
          expect(b.r.violation).toEqual(a.r.violation);
        }
      }
    }
  });

  it('gives the same exploration digest as inline for the same seed', () => {
    const o = { scenario: iopfScenario, params: iopfDefaults(), bug: null, runs: 150, seed: 7, strategy: 'random' as const, depth: 3, maxSteps: 20000 };
    const inline = explore(o);
    const threaded = explore({ ...o, mode: 'turnstile', runtime: mm });
    expect(threaded.digest).toBe(inline.digest);
    expect(threaded.steps).toBe(inline.steps);
    expect(threaded.errored).toEqual([]);
  });

  it('finds fault-without-mmap-lock in the same run as inline, and its repro replays in turnstile mode', () => {
    const bug = iopfScenario.bugs.find((b) => b.name === 'fault-without-mmap-lock')!;
    const o = { scenario: iopfScenario, params: iopfDefaults(bug.params), bug: bug.name, runs: 500, seed: 1, strategy: 'random' as const, depth: 3, maxSteps: 20000 };
    const inline = explore(o);
    const threaded = explore({ ...o, mode: 'turnstile', runtime: mm });
    expect(threaded.firstViolation).toEqual(inline.firstViolation);
    const v = threaded.firstViolation!;
    const again = replaySchedule({ scenario: iopfScenario, params: o.params, bug: o.bug, maxSteps: 20000, runtime: mm }, v.schedule);
    expect(again.violation).toMatchObject({ monitor: v.monitor, step: v.step, message: v.message });
  });
});
