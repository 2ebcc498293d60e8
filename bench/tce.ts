/**
 * tce costs and exploration figures (issue 12), standalone: `node --import tsx bench/tce.ts`.
 * Not a test: numbers only. `tceBench()` returns the rows; the lead wires it into bench/run.ts.
 * - invalidation: TCE-cache kills per TCE written (set or cleared) with one kill per entry (before
 *   v5.4), one per ioctl range (today) and the 2012 seed's flush per oldpages[] batch; and the
 *   steps in which a page had lost its last pin while the cache could still hold it (0 for the
 *   fixed order; the as-is 6.17 order is the unpin-before-kill variant);
 * - map path: oldpages[] kmallocs per MAP ioctl for the seed as posted, the seed as reviewed
 *   (map-only) and today (no allocation on the map path);
 * - pinning: GUP calls per MAP ioctl, v1 (a pin per TCE) vs v2 (pinned once at REGISTER);
 * - lock hold: steps a path holds each lock, per exit of that path;
 * - exploration: runs to find each variant (random and pct, up to TCE_FIND_RUNS, default 20000)
 *   and the fixed models over TCE_CLEAN_RUNS PCT runs (default 20000) for v1, v2 and the seed path.
 * TCE_COST_RUNS sets the runs of each cost row (default 2000).
 */
import { explore } from '../core/explore.ts';
import type { Params } from '../core/model/scenario.ts';
import { defaultParams } from '../core/params.ts';
import { runSeed } from '../core/prng.ts';
import { runOnce } from '../core/run.ts';
import { type StrategyName, makeStrategy } from '../core/strategies/make.ts';
import { tceScenario } from '../systems/tce/scenario.ts';

const SEED_PATH: Params = { version: 'v1', mapPath: 'seed', ownership: 'itmap', levels: 1, vcpus: 0 };

export interface CostRow {
  table: 'invalidation' | 'map path' | 'pinning' | 'lock hold';
  design: string;
  runs: number;
  figures: Record<string, number>;
  violations: number;
}
export interface FindRow {
  variant: string;
  strategy: StrategyName;
  /** 1-based run of the first violation, or null when none within `runs`. */
  foundAt: number | null;
  monitor: string | null;
  runs: number;
}
export interface CleanRow {
  model: string;
  strategy: StrategyName;
  runs: number;
  violations: number;
  errored: number;
  seconds: number;
}

const params = (bug: string | null, over: Params = {}) => ({ ...defaultParams(tceScenario, bug), ...over });
const ratio = (a: number | undefined, b: number | undefined) => (b ? Math.round(((a ?? 0) / b) * 1000) / 1000 : 0);
// Wall clock: a benchmark, not a run.
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

function metrics(bug: string | null, over: Params, runs: number) {
  const r = explore({ scenario: tceScenario, params: params(bug, over), bug, runs, seed: 11, strategy: 'random', depth: 3, maxSteps: 20000 });
  return { m: r.metrics as Record<string, number>, violations: r.violations, runs: r.runs };
}

export function tceCosts(runs = Number(process.env.TCE_COST_RUNS ?? 2000)): CostRow[] {
  const rows: CostRow[] = [];
  // Invalidation: v1, one device, the same workloads (same seed) for every design.
  const inval: [string, string | null, Params][] = [
    ['per-entry kill (before v5.4)', null, { version: 'v1', kill: 'per-entry' }],
    ['one kill per ioctl (today, fixed order)', null, { version: 'v1' }],
    ['one kill per ioctl (6.17 as-is: unpin-before-kill)', 'unpin-before-kill', { version: 'v1' }],
    ['seed: flush per oldpages[] batch of 2', null, { ...SEED_PATH, oldpagesnum: 2 }],
    ['seed: flush per oldpages[] batch of 512', null, { ...SEED_PATH, oldpagesnum: 512 }],
  ];
  for (const [design, bug, over] of inval) {
    // The variant row stops at its first violation otherwise: run it with monitors judged per run.
    const { m, violations, runs: n } = bug ? variantMetrics(bug, over, runs) : metrics(null, over, runs);
    rows.push({
      table: 'invalidation',
      design,
      runs: n,
      figures: { killsPerTce: ratio(m.kills, (m.tcesMapped ?? 0) + (m.tcesCleared ?? 0)), killedEntriesPerKill: ratio(m.killedEntries, m.kills), unpinnedCachedStepsPerRun: ratio(m.unpinnedCachedSteps, n) },
      violations,
    });
  }
  // Map path: kmallocs of oldpages[] per MAP ioctl.
  const posted = variantMetrics('seed-kmalloc-and-silent-overlap', SEED_PATH, runs);
  const reviewed = metrics(null, SEED_PATH, runs);
  const today = metrics(null, { version: 'v1' }, runs);
  rows.push({ table: 'map path', design: 'seed as posted (oldpages[] on every multi-page map, silent replace)', runs: posted.runs, figures: { kmallocsPerMap: ratio(posted.m['oldpagesKmallocs:map'], posted.m['exits:seedMap']) }, violations: posted.violations });
  rows.push({ table: 'map path', design: 'seed as reviewed (map-only scan, -EBUSY)', runs: reviewed.runs, figures: { kmallocsPerMap: ratio(reviewed.m['oldpagesKmallocs:map'], reviewed.m['exits:seedMap']) }, violations: reviewed.violations });
  rows.push({ table: 'map path', design: 'today (replace in place; no allocation on the map path)', runs: today.runs, figures: { kmallocsPerMap: 0 }, violations: today.violations });
  // Pinning.
  const v2 = metrics(null, { version: 'v2', vcpus: 0 }, runs);
  rows.push({ table: 'pinning', design: 'v1: a pin per TCE', runs: today.runs, figures: { gupsPerMap: ratio(today.m['gups:map'], today.m['exits:map']), gupsPerRegister: 0 }, violations: today.violations });
  rows.push({ table: 'pinning', design: 'v2: preregistered (GUP at REGISTER only)', runs: v2.runs, figures: { gupsPerMap: ratio(v2.m['gups:map'], v2.m['exits:map']), gupsPerRegister: ratio(v2.m['gups:register'], v2.m['exits:register']) }, violations: v2.violations });
  // Lock hold steps per path exit.
  for (const [design, r] of [['today v1', today], ['today v2', v2], ['seed as reviewed', reviewed]] as const) {
    const figures: Record<string, number> = {};
    for (const [k, v] of Object.entries(r.m)) {
      const hit = /^hold:([^:]+):(.*)$/.exec(k);
      if (hit && r.m[`exits:${hit[1]}`]) figures[`${hit[1]} ${hit[2]}`] = ratio(v, r.m[`exits:${hit[1]}`]);
    }
    rows.push({ table: 'lock hold', design, runs: r.runs, figures, violations: r.violations });
  }
  return rows;
}

/** Metrics summed over runs of a variant, each run judged on its own (an exploration stops at the first). */
function variantMetrics(bug: string, over: Params, runs: number) {
  const p = params(bug, over);
  const strategy = makeStrategy('random', { depth: 3, steps: tceScenario.stepEstimate(p) });
  const m: Record<string, number> = {};
  let violations = 0;
  for (let run = 0; run < runs; run++) {
    const r = runOnce({ scenario: tceScenario, params: p, bug, seed: runSeed(11, run), run, strategy, maxSteps: 20000 });
    if (r.violation) violations++;
    for (const [k, v] of Object.entries(r.metrics ?? {})) if (typeof v === 'number') m[k] = (m[k] ?? 0) + v;
  }
  return { m, violations, runs };
}

export function tceFinds(runs = Number(process.env.TCE_FIND_RUNS ?? 20000)): FindRow[] {
  const rows: FindRow[] = [];
  for (const b of tceScenario.bugs) {
    const p = params(b.name);
    for (const s of ['random', 'pct'] as const) {
      const strategy = makeStrategy(s, { depth: 3, steps: tceScenario.stepEstimate(p) });
      let row: FindRow = { variant: b.name, strategy: s, foundAt: null, monitor: null, runs };
      for (let run = 0; run < runs; run++) {
        const r = runOnce({ scenario: tceScenario, params: p, bug: b.name, seed: runSeed(1, run), run, strategy, maxSteps: 20000 });
        if (r.violation) {
          row = { ...row, foundAt: run + 1, monitor: r.violation.monitor };
          break;
        }
      }
      rows.push(row);
    }
  }
  return rows;
}

export function tceClean(runs = Number(process.env.TCE_CLEAN_RUNS ?? 20000)): CleanRow[] {
  const rows: CleanRow[] = [];
  for (const [model, over] of [['v1', { version: 'v1' }], ['v2', { version: 'v2' }], ['seed path (as reviewed)', SEED_PATH]] as const) {
    const t0 = process.hrtime.bigint();
    const r = explore({ scenario: tceScenario, params: params(null, over), bug: null, runs, seed: 2026, strategy: 'pct', depth: 3, maxSteps: 20000 });
    rows.push({ model, strategy: 'pct', runs: r.runs, violations: r.violations, errored: r.errored?.length ?? 0, seconds: seconds(t0) });
  }
  return rows;
}

export function tceBench() {
  return { costs: tceCosts(), finds: tceFinds(), clean: tceClean() };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const only = process.env.TCE_BENCH_ONLY?.split(',') ?? ['costs', 'finds', 'clean'];
  if (only.includes('costs')) {
    console.log('tce costs (random, seed 11)');
    for (const r of tceCosts()) console.log(`  ${r.table.padEnd(12)} ${r.design.padEnd(62)} runs ${r.runs} violations ${r.violations}  ${Object.entries(r.figures).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  }
  if (only.includes('finds')) {
    console.log('tce runs to find each variant (seed 1)');
    for (const r of tceFinds()) console.log(`  ${r.variant.padEnd(34)} ${r.strategy.padEnd(6)} ${r.foundAt === null ? `not found in ${r.runs}` : `run ${r.foundAt} (${r.monitor})`}`);
  }
  if (only.includes('clean')) {
    console.log('tce fixed models (pct, seed 2026)');
    for (const r of tceClean()) console.log(`  ${r.model.padEnd(24)} ${r.runs} runs, ${r.violations} violation(s), ${r.errored} errored, ${r.seconds.toFixed(1)} s`);
  }
}
