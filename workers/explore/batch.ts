/**
 * Parallel exploration, worker side (piscina entry): run one batch of an exploration's runs and
 * return its RangeResult. The exploration is described by a plain BatchSpec (the scenario by
 * name); the scenario's execution runtime, when the mode needs threads, is created once per worker
 * thread and reused by every batch it runs. Progress goes into a shared lane word (the next run to start)
 * so that the main thread can name the run a dying worker was on; the shared LIMIT word stops
 * the batch early (a violation found in an earlier run, or Ctrl-C).
 */
import { type ExploreOptions, type RangeResult, type RunRange } from '../../core/explore.ts';
import { createRuntime } from '../../core/modes.ts';
import type { ExecRuntime } from '../../core/model/executor.ts';
import type { Scenario } from '../../core/model/scenario.ts';
import { scenarios } from '../../systems/index.ts';
import { loadScenarioModule } from '../scenarioModule.ts';
import { driveRange } from './drive.ts';

/** What a worker needs to run a batch: the exploration's options, with the scenario by name. */
export type BatchSpec = Omit<ExploreOptions, 'scenario' | 'onRun' | 'mode' | 'runtime'> & {
  scenario: string;
  mode: string;
  /** A user's scenario module (absolute path) to load instead of a built-in scenario. */
  module?: string;
};

export interface BatchTask {
  spec: BatchSpec;
  range: RunRange;
  lane: number;
  /** Int32 words: [LIMIT, lane progress...]. */
  ctl: SharedArrayBuffer;
}

/** Word of the shared control array: runs at or beyond it are not started. */
export const LIMIT = 0;
export const laneWord = (lane: number) => 1 + lane;

let runtime: { key: string; rt: Promise<ExecRuntime> } | null = null;

function runtimeFor(scenario: Scenario, spec: BatchSpec): Promise<ExecRuntime> {
  const key = `${spec.module ?? ''}/${spec.scenario}/${spec.mode}/${JSON.stringify(spec.params)}`;
  if (runtime?.key !== key) runtime = { key, rt: createRuntime(scenario, spec.mode, spec.params) };
  return runtime.rt;
}

export default async function batch(t: BatchTask): Promise<RangeResult> {
  const ctl = new Int32Array(t.ctl);
  const scenario = t.spec.module ? await loadScenarioModule(t.spec.module) : scenarios[t.spec.scenario];
  if (!scenario) throw new Error(`unknown scenario ${t.spec.scenario}`);
  const rt = await runtimeFor(scenario, t.spec);
  const lane = laneWord(t.lane);
  Atomics.store(ctl, lane, t.range.from);
  const o: ExploreOptions = {
    scenario,
    params: t.spec.params,
    bug: t.spec.bug,
    runs: t.spec.runs,
    seed: t.spec.seed,
    strategy: t.spec.strategy,
    depth: t.spec.depth,
    maxSteps: t.spec.maxSteps,
    mode: t.spec.mode,
    runtime: rt,
    replayable: t.spec.replayable,
    engine: t.spec.engine,
    workload: t.spec.workload,
    delays: t.spec.delays,
    coverage: t.spec.coverage,
    onRun: (i) => {
      Atomics.store(ctl, lane, i + 1);
      return i + 1 < Atomics.load(ctl, LIMIT);
    },
  };
  return driveRange(o, t.range, { shouldStop: (next) => next >= Atomics.load(ctl, LIMIT), chunk: t.range.to - t.range.from });
}
