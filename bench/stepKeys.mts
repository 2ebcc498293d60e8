/**
 * Evidence that a change keeps the runs: the step keys, full trace lines (without contexts), metrics and
 * schedules of every run of an IOPF exploration, hashed, in a given checkout, plus the digest.
 * Run it on two checkouts and compare (the digest may differ, the rest must not):
 *   node --import tsx bench/stepKeys.mts <checkout root> <random|pct> <seed> <runs>
 */
// Step keys and full trace lines (no contexts) of every run of an exploration, hashed, in a given checkout.
import { createHash } from 'node:crypto';
const root = process.argv[2];
const strategy = process.argv[3] as 'random' | 'pct';
const seed0 = Number(process.argv[4]);
const runs = Number(process.argv[5]);
const { runOnce } = await import(`${root}/core/run.ts`);
const { runSeed } = await import(`${root}/core/prng.ts`);
const { makeStrategy } = await import(`${root}/core/strategies/make.ts`);
const { traceLine } = await import(`${root}/core/trace.ts`);
const { defaultParams } = await import(`${root}/core/params.ts`);
const { explore } = await import(`${root}/core/explore.ts`);
const { scenarios } = await import(`${root}/systems/index.ts`);
const sc = scenarios.iopf;
const params = defaultParams(sc, null);
const keys = createHash('sha256');
const lines = createHash('sha256');
const strat = makeStrategy(strategy, { depth: 3, steps: sc.stepEstimate(params) });
let steps = 0;
let viol = 0;
const metricsH = createHash('sha256');
for (let i = 0; i < runs; i++) {
  const r = runOnce({ scenario: sc, params, bug: null, seed: runSeed(seed0, i), run: i, strategy: strat, maxSteps: 20000,
    onStep: (rec: any) => { keys.update(rec.step + '\n'); lines.update(traceLine(rec) + '\n'); } });
  steps += r.steps;
  if (r.violation) viol++;
  metricsH.update(JSON.stringify(r.metrics) + JSON.stringify(r.schedule) + '\n');
  keys.update('--\n'); lines.update('--\n');
}
const e = explore({ scenario: sc, params, bug: null, runs, seed: seed0, strategy, depth: 3, maxSteps: 20000 });
console.log(JSON.stringify({ root, engine: process.env.PAGERACE_ENGINE ?? 'default', strategy, seed: seed0, runs, steps, viol, stepKeys: keys.digest('hex').slice(0, 16), traceLines: lines.digest('hex').slice(0, 16), metricsSchedules: metricsH.digest('hex').slice(0, 16), exploreSteps: e.steps, digest: e.digest }));
