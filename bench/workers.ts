/**
 * The workers figure of `npm run bench`: the same exploration over a warm pool of 1 worker and
 * of 2 workers, measured one after the other in this process. Pool start-up and JIT warm-up are
 * excluded (printed apart); CPU time is reported so that V8's own background threads (GC, JIT)
 * show. Run directly it prints one JSON object: `npm run bench` runs it once more under
 * `node --single-threaded` to show the scaling without V8's background GC and JIT threads.
 */
import { fileURLToPath } from 'node:url';
import { type ExploreOptions } from '../actors/explore.ts';
import { iopfScenario } from '../scenarios/iopf/index.ts';
import { createBatchPool, exploreParallel } from '../workers/explore/parallel.ts';

export interface WorkersRow {
  workers: number;
  runs: number;
  seconds: number;
  runsPerSecond: number;
  /** Process CPU seconds per wall second while timing (includes V8's background threads). */
  cores: number;
  startupSeconds: number;
  digest: string;
}

export function benchOptions(runs: number): ExploreOptions {
  const params = Object.fromEntries(iopfScenario.parameters.map((p) => [p.name, p.default]));
  return { scenario: iopfScenario, params, bug: null, runs, seed: 1, strategy: 'random', depth: 3, maxSteps: 20000 };
}

// Wall clock and CPU time: a benchmark, not a run.
export async function measureWorkers(workers: number, runs: number, warmRuns = 400): Promise<WorkersRow> {
  const base = benchOptions(runs);
  const t0 = process.hrtime.bigint();
  const pool = createBatchPool(workers);
  try {
    // Start every worker and warm its JIT (one batch each), outside the timing.
    await exploreParallel({ ...base, runs: warmRuns * workers, seed: 99 }, workers, { pool, batchSize: warmRuns });
    const startupSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu0 = process.cpuUsage();
    const t1 = process.hrtime.bigint();
    const { result } = await exploreParallel(base, workers, { pool });
    const seconds = Number(process.hrtime.bigint() - t1) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    return { workers, runs: result.runs, seconds, runsPerSecond: result.runs / seconds, cores: (cpu.user + cpu.system) / 1e6 / seconds, startupSeconds, digest: result.digest };
  } finally {
    await pool.destroy();
  }
}

export async function workersPair(runs: number): Promise<WorkersRow[]> {
  return [await measureWorkers(1, runs), await measureWorkers(2, runs)];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await workersPair(Number(process.env.BENCH_RUNS ?? 3000));
  process.stdout.write(JSON.stringify(rows) + '\n');
}
