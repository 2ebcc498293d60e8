/** Re-execute a recorded schedule: strictly (replay) or leniently (shrinking). */
import type { Params, Scenario } from './model/scenario.ts';
import type { MmRuntime } from '../kernel/mm/runtime.ts';
import { type RunConfig, type RunResult, runOnce } from './run.ts';
import type { Schedule } from './schedule.ts';
import { Replay } from './strategies/replay.ts';

export interface ReplayTarget {
  scenario: Scenario;
  params: Params;
  bug: string | null;
  maxSteps: number;
  /** How memory and handle_mm_fault run (inline when absent). */
  mm?: MmRuntime;
}

export function replaySchedule(
  t: ReplayTarget,
  schedule: Schedule,
  opts: { lenient?: boolean; onTrace?: (line: string) => void; contexts?: boolean; onStart?: RunConfig['onStart'] } = {},
): RunResult {
  return runOnce({
    scenario: t.scenario,
    params: t.params,
    bug: t.bug,
    seed: schedule.seed,
    strategy: new Replay(schedule.choices, opts.lenient),
    maxSteps: t.maxSteps,
    data: schedule.data,
    lenient: opts.lenient,
    onTrace: opts.onTrace,
    contexts: opts.contexts,
    onStart: opts.onStart,
    mm: t.mm,
  });
}
