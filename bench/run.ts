/**
 * `npm run bench`: throughput of the default IOPF exploration, measured in one process so the
 * figures can be compared as ratios. Not a test: numbers only.
 * - strategies: random walk and PCT, inline, in this thread (what `explore --workers 1` does);
 * - modes: inline vs turnstile (kworker threads granted turns; the same digest) vs free;
 * - workers: the same exploration over a warm pool of 1 and of 2 workers, and their ratio (the
 *   digests must be equal); then again in a child process under `node --single-threaded` (no V8 background threads).
 * BENCH_RUNS sets the runs of the strategy and workers rows (default 3000), BENCH_MODE_RUNS the
 * modes rows (default 500).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { explore } from '../actors/explore.ts';
import type { StrategyName } from '../actors/strategies/make.ts';
import type { MmMode } from '../workers/mm/runtime.ts';
import { createMmRuntime } from '../workers/mm/threads/pool.ts';
import { type WorkersRow, benchOptions, workersPair } from './workers.ts';

const runs = Number(process.env.BENCH_RUNS ?? 3000);
const modeRuns = Number(process.env.BENCH_MODE_RUNS ?? 500);
const base = benchOptions(runs);
// Wall clock: a benchmark, not a run.
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

function measure(strategy: StrategyName) {
  // Warm up the JIT on a few runs first, then time the real batch.
  explore({ ...base, runs: 100, seed: 99, strategy });
  const t0 = process.hrtime.bigint();
  const r = explore({ ...base, strategy });
  const s = seconds(t0);
  return { strategy, runs: r.runs, steps: r.steps, seconds: s, runsPerSecond: r.runs / s, stepsPerSecond: r.steps / s, violations: r.violations };
}

async function measureMode(mode: MmMode) {
  const t0 = process.hrtime.bigint();
  const mm = await createMmRuntime(mode, { threads: Number(base.params.kworkers) });
  const startup = seconds(t0);
  try {
    explore({ ...base, runs: 50, seed: 99, mode, mm });
    const t1 = process.hrtime.bigint();
    const r = explore({ ...base, runs: modeRuns, mode, mm });
    const s = seconds(t1);
    return { mode, runs: r.runs, seconds: s, runsPerSecond: r.runs / s, startupSeconds: startup, digest: r.digest, violations: r.violations };
  } finally {
    await mm.close();
  }
}

function printWorkers(title: string, pair: WorkersRow[]): number {
  console.log(title);
  for (const p of pair) {
    console.log(
      `  workers=${p.workers} ${p.runsPerSecond.toFixed(0).padStart(6)} runs/s  (${p.seconds.toFixed(2)} s, ${p.cores.toFixed(2)} cores busy; pool start-up and warm-up ${p.startupSeconds.toFixed(2)} s; digest ${p.digest.slice(0, 12)})`,
    );
  }
  const ratio = pair[1].runsPerSecond / pair[0].runsPerSecond;
  console.log(`  workers=2/workers=1 runs/s ratio ${ratio.toFixed(2)}; digests ${pair[0].digest === pair[1].digest ? 'equal' : 'DIFFER'}`);
  return ratio;
}

const rows = (['random', 'pct'] as const).map(measure);
console.log(`pagerace bench: iopf defaults, ${runs} runs per strategy, node ${process.version}`);
for (const r of rows) {
  console.log(
    `  ${r.strategy.padEnd(7)} ${r.runsPerSecond.toFixed(0).padStart(6)} runs/s ${r.stepsPerSecond.toFixed(0).padStart(8)} steps/s  (${r.steps} steps in ${r.seconds.toFixed(2)} s, ${r.violations} violations)`,
  );
}
console.log(`  pct/random runs/s ratio ${(rows[1].runsPerSecond / rows[0].runsPerSecond).toFixed(2)}`);

const modes = [];
for (const mode of ['inline', 'turnstile', 'free'] as const) modes.push(await measureMode(mode));
console.log(`modes: random walk, ${modeRuns} runs each`);
for (const m of modes) {
  console.log(
    `  ${m.mode.padEnd(9)} ${m.runsPerSecond.toFixed(0).padStart(6)} runs/s  (${m.seconds.toFixed(2)} s; threads started in ${m.startupSeconds.toFixed(2)} s; ${m.violations} violations; digest ${m.digest.slice(0, 12)})`,
  );
}
console.log(`  turnstile/inline runs/s ratio ${(modes[1].runsPerSecond / modes[0].runsPerSecond).toFixed(2)}; digests ${modes[0].digest === modes[1].digest ? 'equal' : 'DIFFER'}`);

const pair = await workersPair(runs);
const ratio = printWorkers(`workers: random walk, ${runs} runs, warm pools (V8 default flags)`, pair);
console.log(`  workers=2 vs this thread's random walk above: ${(pair[1].runsPerSecond / rows[0].runsPerSecond).toFixed(2)}x`);
const child = execFileSync(process.execPath, ['--single-threaded', '--import', 'tsx', fileURLToPath(new URL('./workers.ts', import.meta.url))], {
  env: { ...process.env, BENCH_RUNS: String(runs) },
  encoding: 'utf8',
});
const stPair = JSON.parse(child.trim().split('\n').at(-1)!) as WorkersRow[];
const stRatio = printWorkers(`workers: the same in a child process under node --single-threaded (no V8 background GC or JIT threads)`, stPair);
console.log(JSON.stringify({ bench: rows, modes, workers: pair, workersRatio: ratio, workersSingleThreadedV8: stPair, workersRatioSingleThreadedV8: stRatio }));
