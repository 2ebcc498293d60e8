/** Re-execute a recorded schedule: strictly (replay) or leniently (shrinking). */
import type { EngineName } from './engine/engine.ts';
import type { ExecRuntime } from './model/executor.ts';
import type { Params, Scenario } from './model/scenario.ts';
import { type RunConfig, type RunResult, runOnce } from './run.ts';
import type { Schedule } from './schedule.ts';
import { Replay } from './strategies/replay.ts';

export interface ReplayTarget {
  scenario: Scenario;
  params: Params;
  bug: string | null;
  maxSteps: number;
  /** The execution runtime (inline when absent). */
  runtime?: ExecRuntime;
  /** What advances the machines (default: the fast engine). */
  engine?: EngineName;
  /** The fixed workload the run had (absent: it was drawn, and the schedule's data replays it). */
  workload?: unknown;
}

export function replaySchedule(
  t: ReplayTarget,
  schedule: Schedule,
  opts: { lenient?: boolean } & Pick<RunConfig, 'onTrace' | 'contexts' | 'onStart' | 'onStep' | 'checkFootprints'> = {},
): RunResult {
  return runOnce({
    scenario: t.scenario,
    params: t.params,
    bug: t.bug,
    seed: schedule.seed,
    strategy: new Replay(schedule, opts.lenient),
    maxSteps: t.maxSteps,
    onTrace: opts.onTrace,
    contexts: opts.contexts,
    onStart: opts.onStart,
    onStep: opts.onStep,
    checkFootprints: opts.checkFootprints,
    runtime: t.runtime,
    engine: t.engine,
    workload: t.workload,
  });
}
