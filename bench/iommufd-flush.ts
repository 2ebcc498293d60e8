/**
 * The cost table of the iommufd-flush policies (--set policy=): one row per policy.
 *  - S1..S6: the research note's canonical schedules (workload presets attach-map-unmap,
 *    nc-after-map, two-nc, nc-late (S3'), copy-below, split-attach, access-detach), each run once
 *    in order (always the first enabled step: a device DMAs as soon as it can, no faults, no random
 *    CPU thread): flushes, and "/Nrb" the IOPTE readbacks (iommu_iova_to_phys) the policy needs.
 *  - random: the default random workload over the same seeds for every policy, RUNS random-walk and
 *    RUNS PCT runs, with costMode (the non-coherent monitors count instead of stopping the run):
 *    flushes per pinned page, readbacks per run, and the violation counts (no-snoop reads of the
 *    previous owner's data, first non-coherent maps over an old dirty line, lines older than the
 *    last non-coherent unmap at the last unpin, skips where the page was not known flushed);
 *  - firstViolation: over the same seeds with costMode off, how many runs each monitor stopped.
 * Policies unclean by design (none = upstream today, seed = the v1 patch) are measured, not
 * required clean; the four others must show zeros.
 *
 * Then runs-to-find: every variant (with its preset) explored by random walk and by PCT over up to
 * FIND runs (default 20,000, the issue's bound), stopping at the first violation; its schedule is
 * replayed and must stop at the same monitor, step and message.
 *
 * `node --import tsx bench/iommufd-flush.ts` prints both (IFF_RUNS sets RUNS, default 2000;
 * IFF_FIND_RUNS sets FIND).
 */
import { exploreRange, strategyFor } from '../core/explore.ts';
import { runOnce } from '../core/run.ts';
import { replaySchedule } from '../core/replayRun.ts';
import type { Params } from '../core/model/scenario.ts';
import { defaultParams } from '../core/params.ts';
import type { Strategy } from '../core/strategies/strategy.ts';
import { flushScenario } from '../systems/iommufd-flush/scenario.ts';
import { POLICIES, type Policy } from '../systems/iommufd-flush/types.ts';

/** Always the first enabled step; no fault, data choices at their first value. */
class InOrder implements Strategy {
  readonly name = 'in-order';
  newExecution(): void {}
  choose(): number {
    return 0;
  }
  chooseData(d: { n: number; p?: number; fault: boolean }): number {
    if (d.p !== undefined) return d.p >= 1 ? 1 : 0;
    return 0;
  }
}

/** The policies unclean by design: upstream today and the v1 patch. */
const UNCLEAN: Policy[] = ['none', 'seed'];

export const SCHEDULES: [string, string][] = [
  ['S1', 'attach-map-unmap'],
  ['S2', 'nc-after-map'],
  ['S3', 'two-nc'],
  ["S3'", 'nc-late'],
  ['S4', 'copy-below'],
  ['S5', 'split-attach'],
  ['S6', 'access-detach'],
];

const defaults = (): Params => Object.fromEntries(flushScenario.parameters.map((p) => [p.name, p.default]));

export interface CanonicalCell {
  flushes: number;
  readbacks: number;
  pinnedPages: number;
  dirtyAtMap: number;
  dirtyAtUnpin: number;
  staleReads: number;
}

/** One canonical schedule under one policy, in order. */
export function canonical(policy: Policy, workload: string): CanonicalCell {
  const params = { ...defaults(), policy, workload, cpuWriters: 0, allocFailRate: 0, gupFailRate: 0, costMode: true };
  const r = runOnce({ scenario: flushScenario, params, bug: null, seed: 1, strategy: new InOrder(), maxSteps: 5000 });
  if (r.error || r.violation) throw new Error(`${policy} ${workload}: ${r.error?.message ?? r.violation?.message}`);
  const m = r.metrics;
  return { flushes: m.flushes, readbacks: m.readbacks, pinnedPages: m.pinnedPages, dirtyAtMap: m.dirtyAtMap, dirtyAtUnpin: m.dirtyAtUnpin, staleReads: m.staleReads };
}

export interface CostRow {
  policy: Policy;
  /** Per canonical schedule: "flushes" or "flushes/readbacks rb", and the violations in brackets. */
  schedules: Record<string, string>;
  runs: number;
  flushesPerPinnedPage: number;
  readbacksPerRun: number;
  staleReads: number;
  dirtyAtMap: number;
  dirtyAtUnpin: number;
  badSkips: number;
  /** Runs (of the same seeds, costMode off) stopped by each monitor. */
  firstViolation: Record<string, number>;
}

export function iommufdFlushCosts(opts: { runs?: number; seed?: number } = {}): CostRow[] {
  const runs = opts.runs ?? 2000;
  const seed = opts.seed ?? 2026;
  const rows: CostRow[] = [];
  for (const policy of POLICIES) {
    const schedules: Record<string, string> = {};
    for (const [name, w] of SCHEDULES) {
      const c = canonical(policy, w);
      const v = c.dirtyAtMap + c.dirtyAtUnpin + c.staleReads;
      schedules[name] = `${c.flushes}${c.readbacks ? `/${c.readbacks}rb` : ''}${v ? ` [${c.dirtyAtMap}m+${c.dirtyAtUnpin}u+${c.staleReads}r]` : ''}`;
    }
    const params = { ...defaults(), policy, costMode: true };
    const sum = { flushes: 0, pinnedPages: 0, readbacks: 0, staleReads: 0, dirtyAtMap: 0, dirtyAtUnpin: 0, badSkips: 0, runs: 0 };
    for (const strategy of ['random', 'pct'] as const) {
      // costMode counts the non-coherent violations; another monitor can still stop a run (the
      // seed's flag left by a failed fill stops at fail-atomic): go on after it, and require that
      // only of the policies unclean by design.
      const o = { scenario: flushScenario, params, bug: null, runs, seed, strategy, depth: 3, maxSteps: 5000 };
      const strat = strategyFor(o);
      for (let from = 0; from < runs; ) {
        const r = exploreRange(o, { from, to: runs }, strat);
        for (const k of Object.keys(sum) as (keyof typeof sum)[]) if (k !== 'runs') sum[k] += r.metrics[k] ?? 0;
        sum.runs += r.runs;
        if (!r.failing) break;
        const v = r.failing.result.violation!;
        if (!UNCLEAN.includes(policy)) throw new Error(`${policy} (${strategy}, costMode): ${v.monitor}: ${v.message}`);
        from = r.next;
      }
    }
    const firstViolation: Record<string, number> = {};
    const strict = { ...params, costMode: false };
    for (const strategy of ['random', 'pct'] as const) {
      // The same run seeds: a range stops at its first failing run; go on after it.
      const o = { scenario: flushScenario, params: strict, bug: null, runs, seed, strategy, depth: 3, maxSteps: 5000 };
      const strat = strategyFor(o);
      for (let from = 0; from < runs; ) {
        const r = exploreRange(o, { from, to: runs }, strat);
        if (!r.failing) break;
        const m = r.failing.result.violation!.monitor;
        firstViolation[m] = (firstViolation[m] ?? 0) + 1;
        from = r.next;
      }
    }
    const r3 = (x: number) => Math.round(x * 1000) / 1000;
    rows.push({
      policy,
      schedules,
      runs: sum.runs,
      flushesPerPinnedPage: r3(sum.flushes / Math.max(1, sum.pinnedPages)),
      readbacksPerRun: r3(sum.readbacks / Math.max(1, sum.runs)),
      staleReads: sum.staleReads,
      dirtyAtMap: sum.dirtyAtMap,
      dirtyAtUnpin: sum.dirtyAtUnpin,
      badSkips: sum.badSkips,
      firstViolation,
    });
  }
  return rows;
}

export function formatCosts(rows: CostRow[]): string {
  const heads = ['policy', ...SCHEDULES.map(([n]) => n), 'flush/pinned pg', 'rb/run', 'staleReads', 'dirtyAtMap', 'dirtyAtUnpin', 'badSkips', 'runs stopped (costMode off)'];
  const lines = [heads, ...rows.map((r) => [r.policy, ...SCHEDULES.map(([n]) => r.schedules[n]), String(r.flushesPerPinnedPage), String(r.readbacksPerRun), String(r.staleReads), String(r.dirtyAtMap), String(r.dirtyAtUnpin), String(r.badSkips), Object.entries(r.firstViolation).map(([m, n]) => `${m} ${n}`).join(', ') || '0'])];
  const w = heads.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return lines.map((l) => l.map((c, i) => c.padEnd(w[i])).join(' | ')).join('\n');
}

export interface FindRow {
  variant: string;
  strategy: 'random' | 'pct';
  /** Runs explored up to and including the first failing one; null: not found within the bound. */
  runsToFind: number | null;
  monitor: string | null;
  step: number | null;
  /** The failing run's schedule replayed stops at the same monitor, step and message. */
  replays: boolean;
}

/** Runs to the first violation of every variant, random and PCT, up to `runs` runs each. */
export function runsToFind(opts: { runs?: number; seed?: number } = {}): FindRow[] {
  const runs = opts.runs ?? 20000;
  const seed = opts.seed ?? 1;
  const rows: FindRow[] = [];
  for (const bug of flushScenario.bugs) {
    const params = defaultParams(flushScenario, bug.name);
    for (const strategy of ['random', 'pct'] as const) {
      const o = { scenario: flushScenario, params, bug: bug.name, runs, seed, strategy, depth: 3, maxSteps: 5000 };
      const r = exploreRange(o, { from: 0, to: runs }, strategyFor(o));
      const v = r.failing?.result.violation ?? null;
      let replays = false;
      if (r.failing && v) {
        const again = replaySchedule({ scenario: flushScenario, params, bug: bug.name, maxSteps: 5000 }, r.failing.result.schedule);
        replays = again.violation?.monitor === v.monitor && again.violation.step === v.step && again.violation.message === v.message;
      }
      rows.push({ variant: bug.name, strategy, runsToFind: r.failing ? r.failing.run + 1 : null, monitor: v?.monitor ?? null, step: v?.step ?? null, replays });
    }
  }
  return rows;
}

export function formatFind(rows: FindRow[], runs: number): string {
  const by = new Map<string, FindRow[]>();
  for (const r of rows) by.set(r.variant, [...(by.get(r.variant) ?? []), r]);
  const cell = (r?: FindRow) => (r?.runsToFind ? `${r.runsToFind} (${r.monitor} @${r.step}${r.replays ? '' : ', REPLAY DIFFERS'})` : `not in ${runs}`);
  const lines = [['variant', 'random: runs to find (monitor @step)', 'pct: runs to find (monitor @step)']];
  for (const [v, rs] of by) lines.push([v, cell(rs.find((r) => r.strategy === 'random')), cell(rs.find((r) => r.strategy === 'pct'))]);
  const w = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return lines.map((l) => l.map((c, i) => c.padEnd(w[i])).join(' | ')).join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const runs = Number(process.env.IFF_RUNS ?? 2000);
  const t0 = process.hrtime.bigint();
  const rows = iommufdFlushCosts({ runs });
  console.log(`iommufd-flush costs: canonical schedules in order (flushes[/readbacks rb] [dirty-at-map m + dirty-at-unpin u + stale reads r]); random workload: ${runs} random + ${runs} PCT runs per policy, same seeds`);
  console.log(formatCosts(rows));
  console.log(`(${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(0)} s)`);
  const find = Number(process.env.IFF_FIND_RUNS ?? 20000);
  const t1 = process.hrtime.bigint();
  console.log(`iommufd-flush variants: runs to the first violation (seed 1, each variant's preset), up to ${find} runs; every repro replayed`);
  console.log(formatFind(runsToFind({ runs: find }), find));
  console.log(`(${(Number(process.hrtime.bigint() - t1) / 1e9).toFixed(0)} s)`);
}
