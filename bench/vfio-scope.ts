/**
 * The vfio-scope cost table: the design alternatives the seed thread argued, side by side, from
 * the same seeds (PCT, depth 3). Not a test: numbers only. `vfioScopeCostRows()` returns the
 * rows and `vfioScopeFindRows()` the runs each variant takes to be found over 20,000-run
 * explorations, random and PCT (the lead wires both into `npm run bench`); run alone with
 * `node --import tsx bench/vfio-scope.ts` (BENCH_VFIO_RUNS sets the runs per cost row, default
 * 1000; BENCH_VFIO_FIND_RUNS the exploration bound, default 20000).
 *
 * Two passes per row over the same runs: without monitors (so every run goes to its end and the
 * costs count whole runs, lost dirty pages included), and with every monitor (which runs break
 * which invariant first).
 *   visits/pin, visits/GET   groups the scope walk visits (counter: none; bool: at promotion,
 *                            mdev attach and detach; walk: at every dma of every GET)
 *   hold                     mean steps iommu->lock is held per acquisition
 *   over/GET                 reported bits with no write owed, per GET (all-dirty costs)
 *   lost                     owed pages missing from a report, summed over the runs
 *   EINVAL, refused, resets  pins refused by the singleton check; joins refused; scopes reset by a join
 */
import { fileURLToPath } from 'node:url';
import { explore } from '../core/explore.ts';
import { replaySchedule } from '../core/replayRun.ts';
import { runOnce } from '../core/run.ts';
import { runSeed } from '../core/prng.ts';
import { type StrategyName, makeStrategy } from '../core/strategies/make.ts';
import type { Params, Scenario } from '../core/model/scenario.ts';
import { vfioScopeScenario as scenario } from '../systems/vfio-scope/index.ts';

export interface VfioScopeRow {
  group: 'scope summary' | 'singleton rule';
  design: string;
  params: Params;
  runs: number;
  visitsPerPin: number;
  visitsPerGet: number;
  meanIommuHold: number;
  overReportPerGet: number;
  lostDirtyPages: number;
  runsLosingDirty: number;
  spuriousEinval: number;
  joinsRefused: number;
  scopeResets: number;
  /** Runs whose first violation each monitor reported (all monitors on). */
  violations: Record<string, number>;
}

const defaults = (over: Params): Params => ({ ...Object.fromEntries(scenario.parameters.map((p) => [p.name, p.default])), ...over });

/** The alternatives: the scope summary in a container where pins promote groups, and the singleton rules in the seed's world. */
export const DESIGNS: { group: VfioScopeRow['group']; design: string; params: Params }[] = [
  ...(['counter', 'bool', 'walk'] as const).map((m) => ({
    group: 'scope summary' as const,
    design: m,
    params: { scopeTracking: m, pinners: 'both', singleton: 'refuse-join', iommuGroups: 2, mdevs: 2, joins: 0, vmmOps: 3 },
  })),
  ...(['none', 'pin-only', 'refuse-join', 'reset-on-join'] as const).map((r) => ({
    group: 'singleton rule' as const,
    design: r,
    params: { singleton: r, pinners: 'iommu', iommuGroups: 1, mdevs: 1, joins: 1, devicesPerGroup: 1 },
  })),
];

function pass(s: Scenario, params: Params, runs: number, seed: number) {
  const strategy = makeStrategy('pct', { depth: 3, steps: s.stepEstimate(params) });
  const sum: Record<string, number> = {};
  const violations: Record<string, number> = {};
  let losing = 0;
  for (let run = 0; run < runs; run++) {
    const r = runOnce({ scenario: s, params, bug: null, seed: runSeed(seed, run), run, strategy, maxSteps: 20000 });
    if (r.error) throw new Error(`run ${run} errored: ${r.error.message}`);
    for (const [k, v] of Object.entries(r.metrics)) sum[k] = (sum[k] ?? 0) + v;
    if ((r.metrics.lostDirty ?? 0) > 0) losing++;
    if (r.violation) violations[r.violation.monitor] = (violations[r.violation.monitor] ?? 0) + 1;
  }
  return { sum, violations, losing };
}

export function vfioScopeCostRows(runs = Number(process.env.BENCH_VFIO_RUNS ?? 1000), seed = 1): VfioScopeRow[] {
  const silent: Scenario = { ...scenario, monitors: [] };
  return DESIGNS.map((d) => {
    const params = defaults(d.params);
    const a = pass(silent, params, runs, seed);
    const b = pass(scenario, params, runs, seed);
    const per = (x: string, y: string) => (a.sum[y] ? Math.round(((a.sum[x] ?? 0) / a.sum[y]) * 100) / 100 : 0);
    return {
      group: d.group,
      design: d.design,
      params: d.params,
      runs,
      visitsPerPin: per('scopeVisitsPin', 'pins'),
      visitsPerGet: per('scopeVisitsGet', 'gets'),
      meanIommuHold: per('iommuHoldSteps', 'iommuHolds'),
      overReportPerGet: per('overReportBits', 'gets'),
      lostDirtyPages: a.sum.lostDirty ?? 0,
      runsLosingDirty: a.losing,
      spuriousEinval: a.sum.spuriousEinval ?? 0,
      joinsRefused: a.sum.joinsRefused ?? 0,
      scopeResets: a.sum.scopeResets ?? 0,
      violations: b.violations,
    };
  });
}

export function printVfioScopeTable(rows: VfioScopeRow[]): void {
  const head = ['group', 'design', 'visits/pin', 'visits/GET', 'hold', 'over/GET', 'lost', 'runs losing', 'EINVAL', 'refused', 'resets', 'first violations'];
  const lines = rows.map((r) => [
    r.group,
    r.design,
    r.visitsPerPin,
    r.visitsPerGet,
    r.meanIommuHold,
    r.overReportPerGet,
    r.lostDirtyPages,
    `${r.runsLosingDirty}/${r.runs}`,
    r.spuriousEinval,
    r.joinsRefused,
    r.scopeResets,
    Object.entries(r.violations).map(([m, n]) => `${m} ${n}`).join(', ') || 'none',
  ].map(String));
  const width = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(width[i])).join(' | ');
  console.log(fmt(head));
  console.log(width.map((w) => '-'.repeat(w)).join('-|-'));
  for (const l of lines) console.log(fmt(l));
}

export interface VfioScopeFindRow {
  bug: string;
  strategy: StrategyName;
  /** The run (0-based) of the first violation, or null: not found within `runs`. */
  foundAt: number | null;
  monitor: string | null;
  /** Choices in the shrunk schedule. */
  shrunkSteps: number | null;
  /** The shrunk schedule replays to the same monitor and message. */
  replays: boolean | null;
  runs: number;
}

/** Runs to find each variant, as `explore vfio-scope --bug NAME --runs 20000 --strategy S` does (seed 1, PCT depth 3). */
export function vfioScopeFindRows(runs = Number(process.env.BENCH_VFIO_FIND_RUNS ?? 20000), seed = 1): VfioScopeFindRow[] {
  const rows: VfioScopeFindRow[] = [];
  for (const b of scenario.bugs) {
    const params = defaults(b.params ?? {});
    for (const strategy of ['random', 'pct'] as const) {
      const r = explore({ scenario, params, bug: b.name, runs, seed, strategy, depth: 3, maxSteps: 20000 });
      const v = r.firstViolation;
      if (r.errored.length) throw new Error(`${b.name} ${strategy}: ${r.errored.length} errored run(s), first: ${r.errored[0].error}`);
      const again = v ? replaySchedule({ scenario, params, bug: b.name, maxSteps: 20000 }, v.schedule).violation : null;
      rows.push({
        bug: b.name,
        strategy,
        foundAt: v ? v.run : null,
        monitor: v ? v.monitor : null,
        shrunkSteps: v ? v.schedule.choices.length : null,
        replays: v ? again?.monitor === v.monitor && again?.message === v.message : null,
        runs,
      });
    }
  }
  return rows;
}

export function printVfioScopeFindTable(rows: VfioScopeFindRow[]): void {
  const head = ['variant', 'strategy', 'found at run', 'monitor', 'repro choices', 'replays'];
  const lines = rows.map((r) => [r.bug, r.strategy, r.foundAt === null ? `not in ${r.runs}` : String(r.foundAt), r.monitor ?? '-', String(r.shrunkSteps ?? '-'), r.replays === null ? '-' : r.replays ? 'same monitor' : 'DIFFERENT']);
  const width = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(width[i])).join(' | ');
  console.log(fmt(head));
  console.log(width.map((w) => '-'.repeat(w)).join('-|-'));
  for (const l of lines) console.log(fmt(l));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = vfioScopeCostRows();
  console.log(`vfio-scope design alternatives, ${rows[0].runs} PCT runs each (depth 3, seed 1)`);
  printVfioScopeTable(rows);
  const found = vfioScopeFindRows();
  console.log(`\nvfio-scope variants: runs to find, explorations of up to ${found[0]?.runs} runs (seed 1)`);
  printVfioScopeFindTable(found);
}
