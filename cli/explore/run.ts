/**
 * Runs an exploration for the CLI and the library: in this process (--workers 1) a chunk of runs
 * at a time, or over a pool of workers; in the scenario's runtime for the mode (threads for the
 * mm's turnstile and free). It can start from a checkpoint's runs [0, next), report progress,
 * and hand the runs done so far (in run order) to a checkpoint writer. An abort signal (Ctrl-C in
 * the CLI) stops after the runs in progress; the results so far are the result.
 * Wall-clock time is measured here, outside the runs: it never enters a trace or the digest.
 */
import { exploreDfs } from '../../core/exhaustive.ts';
import { type ExploreOptions, type ExploreResult, type RangeResult, concatRanges, emptyRange, finishExplore, runRange } from '../../core/explore.ts';
import { sweepFailNth } from '../../core/failNth.ts';
import { driveRange } from '../../workers/explore/drive.ts';
import { exploreParallel } from '../../workers/explore/parallel.ts';
import { createRuntime } from '../../core/modes.ts';
import type { ProgressSink } from '../progress.ts';

export interface ExplorationOutcome {
  result: ExploreResult;
  interrupted: boolean;
  seconds: number;
  /** The runs [0, done.next) as one range: what a checkpoint records. */
  done: RangeResult;
}

export interface RunHooks {
  signal?: AbortSignal;
  progress?: ProgressSink;
  /** The runs [0, next) of an earlier, interrupted exploration (a checkpoint's). */
  resume?: RangeResult;
  /** A user's scenario module (absolute path), for worker threads to load. */
  module?: string;
  /** Called with the runs done so far (in run order, from run 0) every `every` ms of wall clock, and at the end. */
  checkpoint?: { every: number; save(done: RangeResult): void };
  /** Sweep fault injection (--fail-nth) instead of sampling runs. */
  failNth?: boolean;
}

export async function runExploration(o: ExploreOptions, workers: number, hooks: RunHooks = {}): Promise<ExplorationOutcome> {
  const started = process.hrtime.bigint();
  // The exhaustive search and the fail-nth sweep run in this thread, inline, start to end
  // (no progress or checkpoints: the command refuses --checkpoint and --resume with them).
  if (o.strategy === 'dfs' || hooks.failNth) {
    const result = o.strategy === 'dfs' ? exploreDfs(o) : sweepFailNth(o);
    return { result, interrupted: false, seconds: Number(process.hrtime.bigint() - started) / 1e9, done: emptyRange(0) };
  }
  // This shard's runs (all of them without --shard); a resumed exploration goes on from its checkpoint.
  const range = runRange(o);
  const before = hooks.resume ?? emptyRange(range.from);
  const from = Math.max(range.from, before.next);
  const aborted = () => Boolean(hooks.signal?.aborted);
  const progress = hooks.progress;
  let saved = performance.now();
  // Checkpoints are taken on wall-clock time between chunks or batches: never inside a run.
  const maybeSave = (get: () => RangeResult) => {
    if (!hooks.checkpoint || performance.now() - saved < hooks.checkpoint.every) return;
    hooks.checkpoint.save(get());
    saved = performance.now();
  };
  const beforeErrored = before.errored.length;
  progress?.update({ done: from, violations: 0, errored: beforeErrored });

  let result: ExploreResult;
  let done: RangeResult;
  if (before.failing || from >= range.to) {
    // Nothing left to run: the checkpoint holds the whole exploration.
    done = before;
    result = finishExplore(o, [before]);
  } else if (workers > 1) {
    const out = await exploreParallel(o, workers, {
      signal: hooks.signal,
      from,
      before: hooks.resume,
      module: hooks.module,
      onProgress: (n, violations, errored) => progress?.update({ done: n, violations, errored: errored + beforeErrored }),
      onPrefix: (parts) => maybeSave(() => concatRanges([before, ...parts])),
    });
    result = out.result;
    done = concatRanges([before, ...out.parts]);
  } else {
    const runtime = await createRuntime(o.scenario, o.mode ?? 'inline', o.params);
    try {
      let violations = 0;
      let errored = beforeErrored;
      const run: ExploreOptions = {
        ...o,
        runtime,
        onRun: (i, r) => {
          if (r.violation) violations++;
          progress?.update({ done: i + 1, violations, errored });
          return !aborted();
        },
      };
      const r = await driveRange(run, { from, to: range.to }, {
        shouldStop: () => aborted(),
        onChunk: (parts, next) => {
          errored = beforeErrored + parts.reduce((n, p) => n + p.errored.length, 0);
          progress?.update({ done: next, violations, errored });
          maybeSave(() => concatRanges([before, ...parts], next));
        },
      });
      done = concatRanges([before, r]);
      result = finishExplore(run, [done]);
    } finally {
      await runtime.close();
    }
  }
  hooks.checkpoint?.save(done);
  progress?.done();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { result, interrupted: aborted(), seconds, done };
}
