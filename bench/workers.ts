/**
 * The workers figure of `npm run bench`: the same exploration over a warm pool of 1 worker and a
 * warm pool of 2, timed alternately (1, 2, 1, 2, ...) so that the machine's noise falls on both;
 * the ratio reported is the median of the per-pair ratios. Pool start-up, JIT warm-up and one
 * untimed pair are excluded (printed apart); CPU time is reported so that V8's own background threads (GC, JIT)
 * show. Run directly it prints one JSON object (for a child process with other V8 flags).
 */
import { fileURLToPath } from 'node:url';
import type { Piscina } from 'piscina';
import { type ExploreOptions } from '../core/explore.ts';
import { iopfScenario } from '../systems/iopf/scenario.ts';
import { createBatchPool, exploreParallel } from '../workers/explore/parallel.ts';
import { tuneV8ForExploration } from '../workers/v8flags.ts';
import { defaultParams } from '../core/params.ts';

export interface WorkersRow {
  workers: number;
  runs: number;
  seconds: number;
  runsPerSecond: number;
  /** Process CPU seconds per wall second while timing (includes V8's background threads). */
  cores: number;
  digest: string;
}

export interface WorkersFigure {
  /** Timed rows in the order they ran: workers 1, 2, 1, 2, ... */
  rows: WorkersRow[];
  /** workers=2 runs/s over the workers=1 runs/s timed just before it, per pair. */
  ratios: number[];
  medianRatio: number;
  startupSeconds: number;
  digestsEqual: boolean;
}

export function benchOptions(runs: number): ExploreOptions {
  const params = defaultParams(iopfScenario);
  return { scenario: iopfScenario, params, bug: null, runs, seed: 1, strategy: 'random', depth: 3, maxSteps: 20000 };
}

// Wall clock and CPU time: a benchmark, not a run.
async function timed(pool: Piscina, workers: number, runs: number): Promise<WorkersRow> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const { result } = await exploreParallel(benchOptions(runs), workers, { pool });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { workers, runs: result.runs, seconds, runsPerSecond: result.runs / seconds, cores: (cpu.user + cpu.system) / 1e6 / seconds, digest: result.digest };
}

export async function workersFigure(runs: number, pairs: number, warmRuns = 500): Promise<WorkersFigure> {
  const t0 = process.hrtime.bigint();
  const pools = [createBatchPool(1), createBatchPool(2)];
  try {
    // Start every worker and warm its JIT (one batch each), outside the timing.
    for (const [i, pool] of pools.entries()) {
      await exploreParallel({ ...benchOptions(warmRuns * (i + 1)), seed: 99 }, i + 1, { pool, batchSize: warmRuns });
    }
    // One untimed pair: the first timing after warm-up still ran slow (heap growth, late JIT).
    await timed(pools[0], 1, runs);
    await timed(pools[1], 2, runs);
    const startupSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const rows: WorkersRow[] = [];
    const ratios: number[] = [];
    for (let k = 0; k < pairs; k++) {
      const one = await timed(pools[0], 1, runs);
      const two = await timed(pools[1], 2, runs);
      rows.push(one, two);
      ratios.push(two.runsPerSecond / one.runsPerSecond);
    }
    const sorted = [...ratios].sort((a, b) => a - b);
    const medianRatio = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    return { rows, ratios, medianRatio, startupSeconds, digestsEqual: rows.every((r) => r.digest === rows[0].digest) };
  } finally {
    await Promise.all(pools.map((p) => p.destroy()));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.env.BENCH_V8_DEFAULTS !== '1') tuneV8ForExploration();
  const figure = await workersFigure(Number(process.env.BENCH_RUNS ?? 3000), Number(process.env.BENCH_PAIRS ?? 3));
  process.stdout.write(JSON.stringify(figure) + '\n');
}
