/**
 * One exploration from start to repro, shared by `pagerace explore` and the library's explore():
 * run (or resume) it, write the repro of the first violation (or of the first errored run) and
 * the inspector beside it, and describe it for the summary. Writing files is optional (the
 * library writes none unless asked). A write that fails after the runs keeps what was computed:
 * the caller gets the result with the error (the CLI prints the summary, then the one line).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ExploreResult, RangeResult } from '../../core/explore.ts';
import type { Scenario } from '../../core/model/scenario.ts';
import { REPRO_FORMAT, REPRO_VERSION, type Repro } from '../../core/repro.ts';
import type { StrategyName } from '../../core/strategies/make.ts';
import type { EngineName } from '../../core/engine/engine.ts';
import { replayable } from '../../core/modes.ts';
import type { ProgressSink } from '../progress.ts';
import { moduleForRepro } from '../params.ts';
import { UsageError } from '../usage.ts';
import { type ExplorationSpec, writeCheckpoint } from './checkpoint.ts';
import { runExploration } from './run.ts';
import type { SummaryInfo } from './summary.ts';

export interface JobInput {
  scenario: Scenario;
  spec: ExplorationSpec;
  workers: number;
  /** Folder for repro files named after the exploration; null: write none (unless `repro`). */
  out: string | null;
  /** Exact path of the repro file (the inspector goes beside it, .html). */
  repro?: string;
  json?: boolean;
  /** What advances the machines (default: the fast engine; the same runs either way, so not part of a checkpoint). */
  engine?: EngineName;
  progress?: ProgressSink;
  signal?: AbortSignal;
  /** Write a checkpoint to this file every `checkpointEvery` ms and at the end. */
  checkpoint?: string;
  checkpointEvery?: number;
  /** Runs [0, next) from a checkpoint. */
  resume?: RangeResult;
  /** Told when a periodic checkpoint cannot be written (the exploration goes on). */
  onCheckpointError?: (message: string) => void;
}

export interface JobOutcome {
  result: ExploreResult;
  info: SummaryInfo;
  /** A file that could not be written after the runs (the result is still complete). */
  writeError?: UsageError;
}

export async function runJob(j: JobInput): Promise<JobOutcome> {
  const { scenario, spec } = j;
  const o = {
    scenario,
    params: spec.params,
    bug: spec.bug,
    runs: spec.runs,
    seed: spec.seed,
    strategy: spec.strategy as StrategyName,
    depth: spec.depth,
    maxSteps: spec.maxSteps,
    mode: spec.mode,
    replayable: replayable(scenario, spec.mode),
    ...(spec.workload !== undefined ? { workload: spec.workload } : {}),
    ...(spec.delays !== undefined ? { delays: spec.delays } : {}),
    ...(spec.coverage ? { coverage: true } : {}),
    ...(spec.untilCoverage !== undefined ? { untilCoverage: spec.untilCoverage } : {}),
    ...(spec.maxStates !== undefined ? { maxStates: spec.maxStates } : {}),
    ...(spec.branchWorkload ? { branchWorkload: true } : {}),
    ...(spec.shard ? { shard: spec.shard } : {}),
    ...(j.engine ? { engine: j.engine } : {}),
  };
  // A fail-nth sweep's repros say so in their strategy (and file name).
  const label = spec.failNth ? `${spec.strategy}-fail-nth` : spec.strategy;
  let checkpointFailed = false;
  const checkpoint = j.checkpoint
    ? {
        every: j.checkpointEvery ?? 5000,
        save: (done: RangeResult) => {
          try {
            writeCheckpoint(j.checkpoint!, spec, done);
          } catch (e) {
            if (!checkpointFailed) j.onCheckpointError?.(`cannot write checkpoint ${j.checkpoint}: ${(e as NodeJS.ErrnoException).code ?? String(e)}; going on without it`);
            checkpointFailed = true;
          }
        },
      }
    : undefined;
  const { result, interrupted, seconds } = await runExploration(o, j.workers, { signal: j.signal, progress: j.progress, resume: j.resume, module: spec.module, checkpoint, failNth: spec.failNth });
  const info: SummaryInfo = {
    scenario: scenario.name,
    strategy: label,
    seed: spec.seed,
    bug: spec.bug,
    mode: spec.mode,
    workers: j.workers,
    seconds,
    replayable: o.replayable,
    reproPath: null,
    inspectorPath: null,
    errorReproPath: null,
    json: j.json,
    interrupted,
    workloadFile: spec.workloadFile,
    checkpoint: j.checkpoint && !checkpointFailed ? j.checkpoint : undefined,
  };
  if (j.out === null && !j.repro) return { result, info };

  const base = {
    format: REPRO_FORMAT,
    version: REPRO_VERSION,
    scenario: scenario.name,
    parameters: spec.params,
    bug: spec.bug,
    strategy: label,
    depth: spec.depth,
    seed: spec.seed,
    maxSteps: spec.maxSteps,
    mode: spec.mode,
    ...(spec.workload !== undefined ? { workload: spec.workload } : {}),
  } as const;
  const tag = spec.workloadFile ? `-${spec.workloadFile.replace(/^.*[\\/]/, '').replace(/(\.workload)?\.json$/i, '')}` : '';
  const name = (run: number, tail = '') =>
    j.repro && !tail
      ? j.repro
      : join(j.out ?? dirname(j.repro!), `${scenario.name}-${spec.bug ?? 'fixed'}${tag}-${label}${spec.mode === 'inline' ? '' : `-${spec.mode}`}-s${spec.seed}-r${run}${tail}.json`);
  let code = '';
  const write = (path: string, repro: Repro): boolean => {
    try {
      mkdirSync(dirname(path), { recursive: true });
      const withModule = spec.module ? { ...repro, module: moduleForRepro(spec.module, path) } : repro;
      writeFileSync(path, JSON.stringify(withModule, null, 1) + '\n');
      return true;
    } catch (e) {
      code = (e as NodeJS.ErrnoException).code ?? String(e);
      return false;
    }
  };
  const cannot = (path: string) => new UsageError(`cannot write repro file ${path}: ${code}; choose another ${j.repro ? '--repro file' : '--out directory'}`);

  if (result.firstViolation) {
    const v = result.firstViolation;
    const repro: Repro = { ...base, run: v.run, violation: { monitor: v.monitor, message: v.message, step: v.step }, foundSteps: v.foundSteps, schedule: v.schedule };
    const reproPath = name(v.run);
    if (!write(reproPath, repro)) return { result, info, writeError: cannot(reproPath) };
    info.reproPath = reproPath;
    // The offline HTML inspector, beside the repro (once per violation, not per run). A run whose
    // threads raced freely is not replayable step for step, so it gets none.
    if (o.replayable) {
      const inspectorPath = reproPath.replace(/\.json$/, '') + '.html';
      try {
        const { writeReproInspector } = await import('../commands/inspect.ts');
        await writeReproInspector(repro, reproPath, inspectorPath, { scenario, workload: spec.workload });
        info.inspectorPath = inspectorPath;
      } catch (e) {
        if (e instanceof UsageError) return { result, info, writeError: e };
        throw e;
      }
    }
  } else {
    // No violation but a run threw: a repro of the first errored run replays to the same error.
    const e = result.errored.find((x) => x.schedule);
    if (e?.schedule) {
      const path = name(e.run, '-error');
      if (!write(path, { ...base, run: e.run, violation: null, error: { step: e.step, message: e.error }, foundSteps: e.step + 1, schedule: e.schedule })) {
        return { result, info, writeError: cannot(path) };
      }
      info.errorReproPath = path;
    }
  }
  return { result, info };
}
