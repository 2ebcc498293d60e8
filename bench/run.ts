/**
 * `npm run bench`: throughput, measured in one process so the figures can be compared as ratios.
 * Not a test: numbers only.
 * - engines: every scenario's default exploration on the xstate engine and on the fast engine,
 *   timed alternately (bench/engines.ts; BENCH_ENGINE_RUNS runs per timing, default 2000,
 *   BENCH_ENGINE_PAIRS pairs, default 3); the rows below use the default (fast) engine;
 * - strategies: random walk and PCT, inline, in this thread (what `explore --workers 1` does);
 * - modes: inline vs turnstile (kworker threads granted turns; the same digest) vs free;
 * - workers: the same exploration over warm pools of 1 and of 2 workers, timed alternately, and
 *   the median of their ratios (the digests must be equal); then the same in a child process
 *   with V8's default flags, to show what the exploration's V8 tuning (workers/v8flags.ts) buys.
 * The npm script gives the command-line V8 flags the CLI's shebang gives; this process adds the
 * run-time ones. BENCH_RUNS sets the runs of the strategy rows and of each workers timing
 * (default 3000), BENCH_PAIRS the timed pairs (default 5), BENCH_MODE_RUNS the modes rows (500).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { explore } from '../core/explore.ts';
import type { StrategyName } from '../core/strategies/make.ts';
import { createRuntime } from '../core/modes.ts';
import { COMMAND_LINE_V8_FLAGS, EXPLORATION_V8_FLAGS, tuneV8ForExploration } from '../workers/v8flags.ts';
import { type WorkersFigure, type WorkersRow, benchOptions, workersFigure } from './workers.ts';
import { enginesRow, printEngines } from './engines.ts';
import { scenarios } from '../systems/index.ts';

tuneV8ForExploration();
const missing = COMMAND_LINE_V8_FLAGS.filter((f) => !process.execArgv.includes(f));
if (missing.length) console.log(`note: started without ${missing.join(' ')} (use npm run bench): the figures are not the CLI's`);
const flags = [...process.execArgv.filter((f) => f.startsWith('--') && f !== '--import' && !f.includes('tsx')), ...EXPLORATION_V8_FLAGS];
const flagsNote = `V8 flags ${flags.join(' ')}`;
const pairs = Number(process.env.BENCH_PAIRS ?? 5);
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

async function measureMode(mode: string) {
  const t0 = process.hrtime.bigint();
  const runtime = await createRuntime(base.scenario, mode, base.params);
  const startup = seconds(t0);
  try {
    explore({ ...base, runs: 50, seed: 99, mode, runtime });
    const t1 = process.hrtime.bigint();
    const r = explore({ ...base, runs: modeRuns, mode, runtime });
    const s = seconds(t1);
    return { mode, runs: r.runs, seconds: s, runsPerSecond: r.runs / s, startupSeconds: startup, digest: r.digest, violations: r.violations };
  } finally {
    await runtime.close();
  }
}

function printWorkers(title: string, f: WorkersFigure): void {
  console.log(title);
  for (let k = 0; k < f.ratios.length; k++) {
    const [one, two] = [f.rows[2 * k], f.rows[2 * k + 1]];
    const row = (r: WorkersRow) => `workers=${r.workers} ${r.runsPerSecond.toFixed(0).padStart(5)} runs/s (${r.cores.toFixed(2)} cores)`;
    console.log(`  pair ${k + 1}: ${row(one)}  ${row(two)}  ratio ${f.ratios[k].toFixed(2)}`);
  }
  console.log(
    `  workers=2/workers=1 median ratio ${f.medianRatio.toFixed(2)} over ${f.ratios.length} pairs; digests ${f.digestsEqual ? 'equal' : 'DIFFER'} (${f.rows[0].digest.slice(0, 12)}); pool start-up and warm-up ${f.startupSeconds.toFixed(2)} s`,
  );
}

const enginePairs = Number(process.env.BENCH_ENGINE_PAIRS ?? 3);
const engineRows = Object.keys(scenarios).map((name) => enginesRow(name, Number(process.env.BENCH_ENGINE_RUNS ?? 2000), enginePairs));
printEngines(engineRows, enginePairs);
if (process.env.BENCH_ONLY === 'engines') {
  console.log(JSON.stringify({ node: process.version, v8Flags: flags, engines: engineRows }));
  process.exit(0);
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

const figure = await workersFigure(runs, pairs);
printWorkers(`workers: random walk, ${runs} runs per timing, warm pools of 1 and 2 timed alternately (${flagsNote})`, figure);
const twos = figure.rows.filter((r) => r.workers === 2).map((r) => r.runsPerSecond).sort((a, b) => a - b);
console.log(`  median workers=2 vs this thread's random walk above: ${(twos[Math.floor(twos.length / 2)] / rows[0].runsPerSecond).toFixed(2)}x`);
const child = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./workers.ts', import.meta.url))], {
  env: { ...process.env, BENCH_RUNS: String(runs), BENCH_PAIRS: String(Math.min(pairs, 3)), BENCH_V8_DEFAULTS: '1' },
  encoding: 'utf8',
});
const defaults = JSON.parse(child.trim().split('\n').at(-1)!) as WorkersFigure;
printWorkers('workers: the same in a child process with V8 default flags', defaults);
console.log(JSON.stringify({ node: process.version, v8Flags: flags, engines: engineRows, bench: rows, modes, workers: figure, workersV8Defaults: defaults }));

// Exploration power: DFS beside SPIN, and runs to each variant per strategy (bench/explore.ts).
if (process.env.BENCH_TABLE !== '0') {
  const { benchExplore } = await import('./explore.ts');
  benchExplore();
}

// The four newer systems' design-cost tables (and runs-to-find per variant), each from its own
// bench module run as a child process so its figures print as it goes. The defaults keep the
// whole bench in minutes; each module's own variables give the issue-sized figures (20,000 runs):
// BENCH_DIRTY_RUNS/BENCH_DIRTY_FIND, TCE_COST_RUNS/TCE_FIND_RUNS/TCE_CLEAN_RUNS,
// IFF_RUNS/IFF_FIND_RUNS, BENCH_VFIO_RUNS/BENCH_VFIO_FIND_RUNS. BENCH_SYSTEMS=0 skips them.
if (process.env.BENCH_SYSTEMS !== '0') {
  const systems: [string, Record<string, string>][] = [
    ['dirty', { BENCH_DIRTY_RUNS: '300' }],
    ['vfio-scope', { BENCH_VFIO_RUNS: '300', BENCH_VFIO_FIND_RUNS: '2000' }],
    ['tce', { TCE_BENCH_ONLY: 'costs,finds', TCE_COST_RUNS: '300', TCE_FIND_RUNS: '2000' }],
    ['iommufd-flush', { IFF_RUNS: '300', IFF_FIND_RUNS: '2000' }],
  ];
  for (const [name, defaults] of systems) {
    console.log(`\n== ${name} (bench/${name}.ts)`);
    execFileSync(process.execPath, ['--single-threaded-gc', '--import', 'tsx', fileURLToPath(new URL(`./${name}.ts`, import.meta.url))], {
      env: { ...defaults, ...process.env },
      stdio: 'inherit',
    });
  }
}
