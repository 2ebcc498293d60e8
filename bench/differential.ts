/**
 * The differential check at scale: every registered scenario, every variant (and the fixed
 * model), random walk and PCT, `DIFF_RUNS` runs each (default 2000; variants `DIFF_VARIANT_RUNS`,
 * default the same), each run on the xstate engine and on the fast engine, compared step for step
 * (core/engine/differential.ts). Prints one line per (scenario, variant, strategy) and every
 * mismatch; exits 1 on any mismatch.
 *   node --import tsx bench/differential.ts [runs] [scenario] [seed] [variant runs]
 */
import { describeMismatch, differential } from '../core/engine/differential.ts';
import { fastFallbacks } from '../core/fast/engine.ts';
import { defaultParams } from '../core/params.ts';
import { scenarios } from '../systems/index.ts';

const runs = Number(process.argv[2] ?? process.env.DIFF_RUNS ?? 2000);
const only = process.argv[3];
const seed = Number(process.argv[4] ?? 1);
const variantRuns = Number(process.argv[5] ?? process.env.DIFF_VARIANT_RUNS ?? runs);
let total = 0;
let steps = 0;
let bad = 0;
// Wall clock for the report only.
const t0 = process.hrtime.bigint();
for (const sc of Object.values(scenarios)) {
  if (only && sc.name !== only) continue;
  for (const bug of [null, ...sc.bugs.map((b) => b.name)]) {
    for (const strategy of ['random', 'pct'] as const) {
      const t = { scenario: sc, params: defaultParams(sc, bug), bug, strategy, depth: 3, maxSteps: 20000 };
      const d = differential(t, { seed, runs: bug === null ? runs : variantRuns });
      total += d.runs;
      steps += d.steps;
      bad += d.mismatches.length;
      console.log(
        `${sc.name} ${(bug ?? '(fixed)').padEnd(34)} ${strategy.padEnd(6)} ${d.runs} runs ${String(d.steps).padStart(8)} steps ${String(d.violations).padStart(5)} violations ${d.errored} errored  ${d.mismatches.length ? 'MISMATCH' : 'equal'}`,
      );
      for (const m of d.mismatches) console.log(describeMismatch(m));
    }
  }
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`${total} runs (${steps} steps) on both engines in ${seconds.toFixed(0)} s: ${bad ? `${bad} MISMATCH(ES)` : 'no mismatch'}`);
const fb = fastFallbacks();
for (const [id, why] of fb) console.log(`fast engine fell back to xstate for machine ${id}: ${why}`);
process.exitCode = bad ? 1 : 0;
