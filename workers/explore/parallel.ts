/**
 * Parallel exploration, main-thread side: the runs [0, N) are cut into deterministic batches and
 * spread over one piscina pool (created once per exploration). Results are put back in run order
 * and combined by finishExplore, so digest, first violation and repro are exactly those of a
 * single-threaded exploration with the same seed.
 *
 * - A violation in run i lowers the shared LIMIT to i + 1: later batches are not started and
 *   running ones stop after their current run; earlier batches finish (an earlier violation wins).
 * - A batch whose worker throws, is aborted or dies: the run it was on (its lane's progress word)
 *   is reported errored with its seed; the runs before and after it are queued again.
 * - An abort (Ctrl-C) sets LIMIT to 0: workers stop after their current run, and the result is
 *   the contiguous prefix of runs done so far.
 */
import { Piscina } from 'piscina';
import { type ExploreOptions, type ExploreResult, type RangeResult, type RunRange, emptyRange, finishExplore, runRange } from '../../core/explore.ts';
import { runSeed } from '../../core/prng.ts';
import { workerExecArgv, workerFile } from '../tsx.ts';
import { type BatchSpec, type BatchTask, LIMIT, laneWord } from './batch.ts';

const BATCH = workerFile(new URL('./batch.ts', import.meta.url));

export interface ParallelHooks {
  /** Abort: stop after the runs in progress and return the prefix done so far. */
  signal?: AbortSignal;
  /** Runs per batch (default: guided, see planBatches). */
  batchSize?: number;
  /** Tests: the pool and the lane progress words, once the pool exists. */
  onPool?: (pool: Piscina, ctl: Int32Array) => void;
  /** A pool from createBatchPool to use (and leave running) instead of a new one: warm benchmarks. */
  pool?: Piscina;
  /** The first run to execute (a resumed exploration): runs [from, runs). Default 0. */
  from?: number;
  /** The result of the runs [0, from) (a resumed exploration), combined first. */
  before?: RangeResult;
  /** A user's scenario module (absolute path) the workers load instead of a built-in scenario. */
  module?: string;
  /** Every PROGRESS_MS of wall clock (display only): runs finished so far, counting those of `from`. */
  onProgress?: (done: number, violations: number, errored: number) => void;
  /** After each finished batch: the results covering [from, ...) without a gap, in run order (checkpoints). */
  onPrefix?: (parts: readonly RangeResult[]) => void;
}

/** How often onProgress is called (wall clock, for the display only). */
const PROGRESS_MS = 200;

/** A pool of `workers` threads running batches (batch.ts). */
export function createBatchPool(workers: number): Piscina {
  const pool = new Piscina({ filename: BATCH, minThreads: workers, maxThreads: workers, idleTimeout: 2 ** 30, execArgv: workerExecArgv() });
  // A dead worker is reported through its task's promise.
  pool.on('error', () => {});
  return pool;
}

export interface ParallelOutcome {
  result: ExploreResult;
  interrupted: boolean;
  /** The ranges finishExplore combined, [from, ...) in run order: what a checkpoint records. */
  parts: RangeResult[];
}

interface Done {
  range: RunRange;
  result: RangeResult;
}

/** Batches failing in a row before finishing a single run: the pool itself is broken, stop. */
const MAX_FAILED_STARTS = 3;

/**
 * The exploration's runs cut into batches, in run order. With a fixed size, equal batches;
 * otherwise guided: each batch takes a quarter of a fair share of the runs still unplanned
 * (10 to 250 runs), so batches shrink toward the end and no worker idles long on the tail
 * while the other finishes a large last batch. The cut never changes a result: runs are
 * combined in run order.
 */
export function planBatches(runs: number, workers: number, fixed?: number, start = 0): RunRange[] {
  const out: RunRange[] = [];
  for (let from = start; from < runs; ) {
    const size = fixed ?? Math.max(10, Math.min(250, Math.ceil((runs - from) / (workers * 4))));
    out.push({ from, to: Math.min(runs, from + size) });
    from += size;
  }
  return out;
}

export async function exploreParallel(o: ExploreOptions, workers: number, hooks: ParallelHooks = {}): Promise<ParallelOutcome> {
  const spec: BatchSpec = {
    scenario: o.scenario.name,
    params: o.params,
    bug: o.bug,
    runs: o.runs,
    seed: o.seed,
    strategy: o.strategy,
    depth: o.depth,
    maxSteps: o.maxSteps,
    mode: o.mode ?? 'inline',
    replayable: o.replayable,
    ...(o.engine ? { engine: o.engine } : {}),
    ...(o.workload !== undefined ? { workload: o.workload } : {}),
    ...(hooks.module ? { module: hooks.module } : {}),
    ...(o.delays !== undefined ? { delays: o.delays } : {}),
    ...(o.coverage ? { coverage: true } : {}),
  };
  const lanes = workers * 2;
  const ctl = new Int32Array(new SharedArrayBuffer(4 * (1 + lanes)));
  const whole = runRange(o);
  // A resumed exploration starts where its checkpoint stopped (inside this shard's runs).
  const from = Math.max(whole.from, hooks.from ?? whole.from);
  ctl[LIMIT] = whole.to;
  const pool = hooks.pool ?? createBatchPool(workers);
  hooks.onPool?.(pool, ctl);

  const queue = planBatches(whole.to, workers, hooks.batchSize, from);
  const done: Done[] = [];
  const free = [...Array(lanes).keys()];
  const inFlight = new Map<number, Promise<{ lane: number; range: RunRange; ok: boolean; value: unknown }>>();
  const stop = () => Atomics.store(ctl, LIMIT, 0);
  let failedStarts = 0;
  hooks.signal?.addEventListener('abort', stop, { once: true });
  const inFlightRanges = new Map<number, { lane: number; range: RunRange }>();
  // Progress for the display: finished batches plus the lanes' progress words. A real timer on
  // purpose, outside every run: it only reads counters the runs write and calls the display's
  // sink; no run, result, digest or batch plan depends on when (or whether) it fires.
  const progress = hooks.onProgress;
  const ticker = progress
    ? setInterval(() => {
        let n = from;
        let violations = 0;
        let errored = 0;
        for (const d of done) {
          n += d.result.runs + d.result.errored.length;
          errored += d.result.errored.length;
          if (d.result.failing) violations++;
        }
        for (const f of inFlightRanges.values()) n += Math.max(0, Atomics.load(ctl, laneWord(f.lane)) - f.range.from);
        progress(Math.min(n, o.runs), violations, errored);
      }, PROGRESS_MS)
    : null;

  try {
    for (;;) {
      const limit = Atomics.load(ctl, LIMIT);
      while (!hooks.signal?.aborted && free.length > 0 && queue.length > 0 && queue[0].from < limit) {
        const range = queue.shift()!;
        const lane = free.shift()!;
        Atomics.store(ctl, laneWord(lane), range.from);
        inFlightRanges.set(lane, { lane, range });
        const task: BatchTask = { spec, range, lane, ctl: ctl.buffer as SharedArrayBuffer };
        inFlight.set(
          lane,
          pool.run(task).then(
            (value) => ({ lane, range, ok: true, value }),
            (value) => ({ lane, range, ok: false, value }),
          ),
        );
      }
      if (inFlight.size === 0) break;
      const s = await Promise.race(inFlight.values());
      inFlight.delete(s.lane);
      inFlightRanges.delete(s.lane);
      free.push(s.lane);
      if (s.ok) {
        failedStarts = 0;
        const result = s.value as RangeResult;
        done.push({ range: s.range, result });
        if (result.failing) Atomics.store(ctl, LIMIT, Math.min(Atomics.load(ctl, LIMIT), result.failing.run + 1));
        hooks.onPrefix?.(prefix(done, from));
        continue;
      }
      // The worker threw, was aborted or died: the run it was on is errored, the others run again.
      const k = Math.min(Math.max(Atomics.load(ctl, laneWord(s.lane)), s.range.from), s.range.to - 1);
      const error = s.value instanceof Error ? s.value.message : String(s.value);
      failedStarts = Atomics.load(ctl, laneWord(s.lane)) > s.range.from ? 0 : failedStarts + 1;
      if (failedStarts >= MAX_FAILED_STARTS) throw new Error(`parallel exploration: ${failedStarts} batches in a row failed before finishing a run: ${error}`);
      done.push({ range: { from: k, to: k + 1 }, result: erroredRange(k, runSeed(o.seed, k), `worker failed: ${error}`) });
      const again = [
        { from: s.range.from, to: k },
        { from: k + 1, to: s.range.to },
      ].filter((r) => r.from < r.to);
      queue.unshift(...again);
      queue.sort((a, b) => a.from - b.from);
    }
  } finally {
    if (ticker) clearInterval(ticker);
    hooks.signal?.removeEventListener('abort', stop);
    if (!hooks.pool) await pool.destroy();
  }

  const parts = prefix(done, from);
  return { result: finishExplore(o, hooks.before ? [hooks.before, ...parts] : parts), interrupted: Boolean(hooks.signal?.aborted), parts };
}

/** The batches' results in run order, as far as they cover [from, ...) without a gap. */
function prefix(done: Done[], from: number): RangeResult[] {
  const sorted = [...done].sort((a, b) => a.range.from - b.range.from);
  const out: RangeResult[] = [];
  let next = from;
  for (const d of sorted) {
    if (d.range.from !== next) break;
    out.push(d.result);
    if (d.result.failing || d.result.next < d.range.to) break;
    next = d.range.to;
  }
  return out;
}

function erroredRange(run: number, seed: number, error: string): RangeResult {
  return { ...emptyRange(run + 1), errored: [{ run, seed, step: -1, error }] };
}
