/**
 * The engines figure of `npm run bench`: for every registered scenario, the same exploration
 * (its defaults, the CLI's default strategy and seed) on the xstate engine and on the fast engine
 * in this process, timed alternately (xstate, fast, xstate, fast, ...) after a warm-up of each, so
 * the machine's noise falls on both. Reported: each engine's median runs/s and steps/s and the
 * median of the per-pair ratios; the digests of both engines must be equal. Run directly it prints
 * the table and a JSON line.
 */
import { fileURLToPath } from 'node:url';
import { explore, type ExploreOptions } from '../core/explore.ts';
import type { EngineName } from '../core/engine/engine.ts';
import { fastFallbacks } from '../core/fast/engine.ts';
import { defaultParams } from '../core/params.ts';
import type { StrategyName } from '../core/strategies/make.ts';
import { scenarios } from '../systems/index.ts';

export interface EngineTiming {
  engine: EngineName;
  runs: number;
  steps: number;
  seconds: number;
  runsPerSecond: number;
  stepsPerSecond: number;
  /** This process's CPU seconds while timing (robust to other processes on the machine). */
  cpuSeconds: number;
  runsPerCpuSecond: number;
  digest: string;
}

export interface EnginesRow {
  scenario: string;
  strategy: StrategyName;
  runs: number;
  /** Timings in the order they ran: xstate, fast, xstate, fast, ... */
  timings: EngineTiming[];
  xstate: { runsPerSecond: number; stepsPerSecond: number };
  fast: { runsPerSecond: number; stepsPerSecond: number };
  /** fast runs/s over the xstate runs/s timed just before it, per pair. */
  ratios: number[];
  medianRatio: number;
  /** The same per CPU second. */
  cpuRatios: number[];
  medianCpuRatio: number;
  digestsEqual: boolean;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function timed(o: ExploreOptions, engine: EngineName): EngineTiming {
  // Wall clock: a benchmark, not a run.
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const r = explore({ ...o, engine });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { engine, runs: r.runs, steps: r.steps, seconds, runsPerSecond: r.runs / seconds, stepsPerSecond: r.steps / seconds, cpuSeconds, runsPerCpuSecond: r.runs / cpuSeconds, digest: r.digest };
}

export function enginesRow(scenarioName: string, runs: number, pairs: number, strategy: StrategyName = 'random'): EnginesRow {
  const scenario = scenarios[scenarioName];
  const o: ExploreOptions = { scenario, params: defaultParams(scenario), bug: null, runs, seed: 1, strategy, depth: 3, maxSteps: 20000 };
  // Warm up both engines' JIT on other seeds.
  for (const engine of ['xstate', 'fast'] as const) explore({ ...o, runs: Math.max(50, Math.round(runs / 10)), seed: 99, engine });
  const timings: EngineTiming[] = [];
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  for (let k = 0; k < pairs; k++) {
    const x = timed(o, 'xstate');
    const f = timed(o, 'fast');
    timings.push(x, f);
    ratios.push(f.runsPerSecond / x.runsPerSecond);
    cpuRatios.push(f.runsPerCpuSecond / x.runsPerCpuSecond);
  }
  const of = (e: EngineName) => timings.filter((t) => t.engine === e);
  const summary = (e: EngineName) => ({ runsPerSecond: median(of(e).map((t) => t.runsPerSecond)), stepsPerSecond: median(of(e).map((t) => t.stepsPerSecond)) });
  return {
    scenario: scenarioName,
    strategy,
    runs,
    timings,
    xstate: summary('xstate'),
    fast: summary('fast'),
    ratios,
    medianRatio: median(ratios),
    cpuRatios,
    medianCpuRatio: median(cpuRatios),
    digestsEqual: timings.every((t) => t.digest === timings[0].digest),
  };
}

export function printEngines(rows: EnginesRow[], pairs: number): void {
  console.log(`engines: each scenario's default exploration on xstate and on fast, timed alternately (${pairs} pairs, medians)`);
  for (const r of rows) {
    const cell = (e: { runsPerSecond: number; stepsPerSecond: number }) => `${e.runsPerSecond.toFixed(0).padStart(6)} runs/s ${e.stepsPerSecond.toFixed(0).padStart(8)} steps/s`;
    console.log(
      `  ${r.scenario.padEnd(14)} ${r.strategy.padEnd(6)} ${r.runs} runs  xstate ${cell(r.xstate)}  fast ${cell(r.fast)}  fast/xstate ${r.medianRatio.toFixed(2)}x (pairs ${r.ratios.map((x) => x.toFixed(2)).join(', ')}); per CPU second ${r.medianCpuRatio.toFixed(2)}x; digests ${r.digestsEqual ? 'equal' : 'DIFFER'} (${r.timings[0].digest.slice(0, 12)})`,
    );
  }
  const fb = fastFallbacks();
  console.log(fb.size ? `  machines the fast engine ran on xstate: ${[...fb].map(([id, why]) => `${id} (${why})`).join('; ')}` : '  every machine ran compiled (no fallback to xstate)');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const runs = Number(process.env.BENCH_ENGINE_RUNS ?? 2000);
  const pairs = Number(process.env.BENCH_ENGINE_PAIRS ?? 3);
  const rows = Object.keys(scenarios).map((name) => enginesRow(name, runs, pairs));
  printEngines(rows, pairs);
  console.log(JSON.stringify({ node: process.version, engines: rows }));
}
