/**
 * `npm run bench`: throughput of the default IOPF exploration, random walk and PCT, measured in
 * one process so the figures can be compared as ratios. Not a test: numbers only.
 */
import { explore } from '../actors/explore.ts';
import type { StrategyName } from '../actors/strategies/make.ts';
import { iopfScenario } from '../scenarios/iopf/index.ts';

const runs = Number(process.env.BENCH_RUNS ?? 3000);
const params = Object.fromEntries(iopfScenario.parameters.map((p) => [p.name, p.default]));

function measure(strategy: StrategyName) {
  // Warm up the JIT on a few runs first, then time the real batch (wall clock: a benchmark, not a run).
  explore({ scenario: iopfScenario, params, bug: null, runs: 100, seed: 99, strategy, depth: 3, maxSteps: 20000 });
  const t0 = process.hrtime.bigint();
  const r = explore({ scenario: iopfScenario, params, bug: null, runs, seed: 1, strategy, depth: 3, maxSteps: 20000 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { strategy, runs: r.runs, steps: r.steps, seconds: s, runsPerSecond: r.runs / s, stepsPerSecond: r.steps / s, violations: r.violations };
}

const rows = (['random', 'pct'] as const).map(measure);
console.log(`pagerace bench: iopf defaults, ${runs} runs per strategy, node ${process.version}`);
for (const r of rows) {
  console.log(
    `  ${r.strategy.padEnd(7)} ${r.runsPerSecond.toFixed(0).padStart(6)} runs/s ${r.stepsPerSecond.toFixed(0).padStart(8)} steps/s  (${r.steps} steps in ${r.seconds.toFixed(2)} s, ${r.violations} violations)`,
  );
}
console.log(`  pct/random runs/s ratio ${(rows[1].runsPerSecond / rows[0].runsPerSecond).toFixed(2)}`);
console.log(JSON.stringify({ bench: rows }));
