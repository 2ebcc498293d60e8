/**
 * Runs an exploration for the CLI: in this process (--workers 1) a chunk of runs at a time, or
 * over a pool of workers; in the scenario's runtime for the mode (threads for the mm's turnstile and free). The first
 * Ctrl-C stops after the runs in progress and the results so far are printed; a second one exits.
 * Wall-clock time is measured here, outside the runs: it never enters a trace or the digest.
 */
import { exploreDfs } from '../../core/exhaustive.ts';
import { type ExploreOptions, type ExploreResult, finishExplore, runRange } from '../../core/explore.ts';
import { sweepFailNth } from '../../core/failNth.ts';
import { driveRange } from '../../workers/explore/drive.ts';
import { exploreParallel } from '../../workers/explore/parallel.ts';
import { createRuntime } from '../../core/modes.ts';

export interface ExplorationOutcome {
  result: ExploreResult;
  interrupted: boolean;
  seconds: number;
}

export async function runExploration(o: ExploreOptions, workers: number, how: { failNth?: boolean } = {}): Promise<ExplorationOutcome> {
  // The exhaustive search and the fail-nth sweep run in this thread, inline, start to end.
  if (o.strategy === 'dfs' || how.failNth) {
    const started = process.hrtime.bigint();
    const result = o.strategy === 'dfs' ? exploreDfs(o) : sweepFailNth(o);
    return { result, interrupted: false, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  }
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('pagerace: interrupted; finishing the runs in progress (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const started = process.hrtime.bigint();
  try {
    let result: ExploreResult;
    if (workers > 1) {
      result = (await exploreParallel(o, workers, { signal: controller.signal })).result;
    } else {
      const runtime = await createRuntime(o.scenario, o.mode ?? 'inline', o.params);
      try {
        const run = { ...o, runtime, onRun: () => !controller.signal.aborted };
        const r = await driveRange(run, runRange(o), { shouldStop: () => controller.signal.aborted });
        result = finishExplore(run, [r]);
      } finally {
        await runtime.close();
      }
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { result, interrupted: controller.signal.aborted, seconds };
  } finally {
    process.off('SIGINT', onSigint);
  }
}
