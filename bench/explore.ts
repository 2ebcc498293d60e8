/**
 * Exploration power, for `npm run bench` (or alone: `node --import tsx bench/explore.ts`):
 * 1. DFS beside SPIN on the small IOPF configuration (issue 16): SPIN's whole pipeline
 *    (bench/spin/run.sh: spin -a, the C compile, pan) and `explore --strategy dfs` in this
 *    process, fixed model and partial-leak-on-alloc-failure, timed in the same bench run.
 * 2. Runs to the first violation per scenario, variant and strategy (random, pct, delay) over
 *    BENCH_SEEDS exploration seeds (default 20): median and 90th percentile; dfs states to the bug
 *    (first workload, budget BENCH_DFS_STATES); and dfs states/s. One table, markdown and JSON.
 * Limits (env): BENCH_SEEDS, BENCH_MAX_RUNS (runs per search, default 2000; more is shown as
 * ">N"), BENCH_DFS_STATES (default 20000), BENCH_VARIANTS (comma-separated names; default all),
 * BENCH_SPIN=0 skips SPIN.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exploreDfs } from '../core/exhaustive.ts';
import { explore } from '../core/explore.ts';
import { defaultParams } from '../core/params.ts';
import type { Scenario } from '../core/model/scenario.ts';
import { scenarios } from '../systems/index.ts';

const SEEDS = Number(process.env.BENCH_SEEDS ?? 20);
const MAX_RUNS = Number(process.env.BENCH_MAX_RUNS ?? 2000);
const DFS_STATES = Number(process.env.BENCH_DFS_STATES ?? 20000);
const ONLY = process.env.BENCH_VARIANTS ? new Set(process.env.BENCH_VARIANTS.split(',')) : null;
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

export const SMALL_IOPF = { devices: 1, groupsPerDevice: 3, maxGroupSize: 3, prqDepth: 2, kworkers: 2, pages: 1, unplugRate: 0, mmOps: 0, iommufdDevices: 0, rebinds: 0, unboundRate: 0, unrecoverableRate: 0, privDataRate: 0 };

interface SpinCase {
  case: string;
  states: number;
  transitions: number;
  errors: number;
  seconds: number;
  exhausted: boolean;
}

function spin(): SpinCase[] | string {
  if (process.env.BENCH_SPIN === '0') return 'skipped (BENCH_SPIN=0)';
  try {
    const out = execFileSync('bash', [fileURLToPath(new URL('./spin/run.sh', import.meta.url))], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return out.trim().split('\n').map((l) => JSON.parse(l) as SpinCase);
  } catch (e) {
    return `not run: ${(e as { stderr?: string }).stderr?.trim() || String(e)}`;
  }
}

function dfsCase(bug: string | null) {
  const iopf = scenarios.iopf;
  const params = { ...defaultParams(iopf, bug), ...SMALL_IOPF };
  const t0 = process.hrtime.bigint();
  const r = exploreDfs({ scenario: iopf, params, bug, runs: 1, seed: 1, strategy: 'dfs', depth: 3, maxSteps: 20000, maxStates: DFS_STATES, shrink: false });
  const s = seconds(t0);
  return { case: bug ?? 'fixed', states: r.search!.states, transitions: r.search!.transitions, found: r.firstViolation?.monitor ?? null, exhausted: r.search!.exhausted, seconds: s, statesPerSecond: r.search!.states / s, restore: r.search!.restore };
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
};

interface Row {
  scenario: string;
  variant: string;
  strategy: string;
  /** Runs to the first violation per seed (MAX_RUNS + 1 = not found within the budget). */
  runs: number[];
  median: number | null;
  p90: number | null;
  found: number;
}

function runsToBug(scenario: Scenario, bug: string, strategy: 'random' | 'pct' | 'delay'): Row {
  const params = defaultParams(scenario, bug);
  const runs: number[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = explore({ scenario, params, bug, runs: MAX_RUNS, seed, strategy, depth: 3, delays: 2, maxSteps: 20000, shrink: false });
    runs.push(r.firstViolation ? r.firstViolation.run + 1 : MAX_RUNS + 1);
  }
  const found = runs.filter((n) => n <= MAX_RUNS).length;
  return { scenario: scenario.name, variant: bug, strategy, runs, median: quantile(runs, 0.5), p90: quantile(runs, 0.9), found };
}

function dfsToBug(scenario: Scenario, bug: string) {
  const t0 = process.hrtime.bigint();
  const r = exploreDfs({ scenario, params: defaultParams(scenario, bug), bug, runs: 1, seed: 1, strategy: 'dfs', depth: 3, maxSteps: 20000, maxStates: DFS_STATES, shrink: false });
  const s = seconds(t0);
  return { states: r.firstViolation ? r.search!.states : null, statesPerSecond: r.search!.states / s };
}

export function benchExplore(): unknown {
  const spinCases = spin();
  const dfs = [dfsCase(null), dfsCase('partial-leak-on-alloc-failure')];
  console.log(`\nDFS beside SPIN, small IOPF configuration (${Object.entries(SMALL_IOPF).map(([k, v]) => `${k}=${v}`).join(' ')}), dfs budget ${DFS_STATES} states`);
  console.log('| case | tool | states | transitions | exhausted / found | seconds |');
  console.log('|---|---|---|---|---|---|');
  for (const d of dfs) {
    const sp = typeof spinCases === 'string' ? null : spinCases.find((c) => c.case === (d.case === 'fixed' ? 'fixed' : 'partial-leak'));
    if (sp) console.log(`| ${d.case} | SPIN (whole pipeline) | ${sp.states} | ${sp.transitions} | ${sp.exhausted ? 'exhausted' : sp.errors ? 'found' : '-'} | ${sp.seconds.toFixed(2)} |`);
    console.log(`| ${d.case} | pagerace dfs (${d.restore}) | ${d.states} | ${d.transitions} | ${d.found ? `found ${d.found}` : d.exhausted ? 'exhausted' : 'not exhausted (budget)'} | ${d.seconds.toFixed(2)} |`);
  }
  if (typeof spinCases === 'string') console.log(`SPIN: ${spinCases}`);

  const rows: (Row & { dfsStates: number | null; dfsStatesPerSecond: number })[] = [];
  for (const scenario of Object.values(scenarios)) {
    for (const b of scenario.bugs) {
      if (ONLY && !ONLY.has(b.name)) continue;
      const d = dfsToBug(scenario, b.name);
      for (const st of ['random', 'pct', 'delay'] as const) rows.push({ ...runsToBug(scenario, b.name, st), dfsStates: d.states, dfsStatesPerSecond: d.statesPerSecond });
    }
  }
  const cell = (n: number | null) => (n === null ? '-' : n > MAX_RUNS ? `>${MAX_RUNS}` : String(n));
  console.log(`\nRuns to the first violation over ${SEEDS} seeds (median / 90th percentile; found in how many seeds), at most ${MAX_RUNS} runs; dfs: states to the bug (first workload, budget ${DFS_STATES})`);
  console.log('| scenario | variant | random | pct | delay | dfs states | dfs states/s |');
  console.log('|---|---|---|---|---|---|---|');
  for (let i = 0; i < rows.length; i += 3) {
    const [r, p, d] = rows.slice(i, i + 3);
    const c = (x: Row) => `${cell(x.median)} / ${cell(x.p90)} (${x.found}/${SEEDS})`;
    console.log(`| ${r.scenario} | ${r.variant} | ${c(r)} | ${c(p)} | ${c(d)} | ${r.dfsStates ?? `>${DFS_STATES}`} | ${Math.round(r.dfsStatesPerSecond)} |`);
  }
  const json = { seeds: SEEDS, maxRuns: MAX_RUNS, dfsStates: DFS_STATES, spin: spinCases, dfs, runsToBug: rows };
  console.log(JSON.stringify(json));
  return json;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) benchExplore();
