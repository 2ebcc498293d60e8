/**
 * The `dirty` cost table (spec §5): what the seed's split costs, recursive against straight, by
 * BBM level and flush policy, and what splitting (or not) costs a migration.
 *
 *  1. One split, measured exactly: the `blocks` layout (A0 = one L1 block, A1 = two L2 blocks),
 *     the device reads one page of each block first (so the TLB caches the blocks), then
 *     SET_DIRTY_TRACKING(1) splits them (splitWhen=enable) - a hand-written workload run under a
 *     fixed priority schedule (the VMM's maps, the device, the VMM, the splitter), no faults. Costs counted from
 *     the observations of the split itself.
 *  2. A migration, averaged over sampled runs of the drawn workloads (random strategy): what a
 *     choice costs in migration traffic (over-reported bytes per GET) and in DMA performance (TLB
 *     misses per access), with the software costs per run.
 *
 * `npm run bench` prints it through the lead's wiring; alone: `node --import tsx bench/dirty.ts`
 * (BENCH_DIRTY_RUNS sets the runs per row of table 2, default 300).
 */
import { fileURLToPath } from 'node:url';
import { explore, exploreRange } from '../core/explore.ts';
import { defaultParams } from '../core/params.ts';
import { replaySchedule } from '../core/replayRun.ts';
import { runOnce } from '../core/run.ts';
import type { Params, Scenario } from '../core/model/scenario.ts';
import type { Choice, DataDraw, Strategy } from '../core/strategies/strategy.ts';
import { buildFromWorkload, dirtyScenario } from '../systems/dirty/scenario.ts';
import type { DirtyWorkload } from '../systems/dirty/types.ts';
import { layoutAreas } from '../systems/dirty/workload.ts';

export interface SplitCostRow {
  split: string;
  bbml: number;
  flush: string;
  tableAllocs: number;
  installTableSwaps: number;
  pteWrites: number;
  tlbInvalidations: number;
  /** Steps of the split (one per descriptor read, allocation, fill, store, command). */
  splitSteps: number;
  transitionalSteps: number;
  maxTransitionalWindow: number;
  pagesSplit: number;
}

export interface MigrationCostRow {
  alternative: string;
  runs: number;
  meanOverReportedBytesPerGet: number;
  tlbMissesPerDma: number;
  pteWritesPerRun: number;
  tableAllocsPerRun: number;
  installTableSwapsPerRun: number;
  tlbInvalidationsPerRun: number;
  transitionalStepsPerRun: number;
  meanSteps: number;
  violations: number;
}

const defaults = (): Params => Object.fromEntries(dirtyScenario.parameters.map((p) => [p.name, p.default]));

/** The VMM's maps, then the device, then the VMM, then the splitter; data draws take their first value (no fault). */
class Priority implements Strategy {
  readonly name = 'priority';
  newExecution(): void {}
  choose(enabled: readonly Choice[]): number {
    const rank = (c: Choice) => (c.key.startsWith('vmm.MAP') ? 0 : c.thread === 'dev' ? 1 : c.thread === 'vmm' ? 2 : 3);
    let best = 0;
    enabled.forEach((c, i) => {
      if (rank(c) < rank(enabled[best])) best = i;
    });
    return best;
  }
  chooseData(_d: DataDraw): number {
    return 0;
  }
}

function splitWorkload(levels: number, fanout: number): DirtyWorkload {
  const areas = layoutAreas('blocks', levels, fanout).slice(0, 2);
  const reads = areas.flatMap((a) => (a.pages >= fanout ** (levels - 1) ? [a.iova] : [a.iova, a.iova + fanout]));
  return {
    areas,
    vmm: [...areas.map((a) => ({ op: 'MAP' as const, area: a.id })), { op: 'SET_DIRTY', enable: true }],
    hotplug: [],
    dev: [...reads.map((page) => ({ op: 'READ' as const, page })), { op: 'WAIT_TRACKING' }],
    bitmap: { vmm: { offset: 0 }, hotplug: { offset: 0 } },
  };
}

/** Table 1: one split of the blocks layout. */
export function splitCosts(levels = 3, fanout = 4): SplitCostRow[] {
  const rows: SplitCostRow[] = [];
  const cases: [string, number, string][] = [];
  for (const split of ['recursive', 'straight']) for (const bbml of [2, 1]) for (const flush of ['end', 'perBlock']) cases.push([split, bbml, flush]);
  cases.push(['recursive', 0, 'end']);
  for (const [split, bbml, flush] of cases) {
    const params: Params = { ...defaults(), levels, fanout, split, bbml, flush, splitWhen: 'enable', faultRate: 0, hotplug: false };
    const wl = splitWorkload(levels, fanout);
    const scenario: Scenario = { ...dirtyScenario, build: (p) => buildFromWorkload(p, wl) };
    const row: SplitCostRow = { split, bbml, flush, tableAllocs: 0, installTableSwaps: 0, pteWrites: 0, tlbInvalidations: 0, splitSteps: 0, transitionalSteps: 0, maxTransitionalWindow: 0, pagesSplit: 0 };
    let since = -1;
    const r = runOnce({
      scenario,
      params,
      bug: null,
      seed: 1,
      strategy: new Priority(),
      maxSteps: 5000,
      onStep: (rec) => {
        for (const o of rec.obs) {
          const op = String(o.op ?? '');
          const bySplit = op.startsWith('splitter#');
          if (o.what === 'transitional') {
            if (o.on) since = rec.i;
            else if (since >= 0) {
              row.maxTransitionalWindow = Math.max(row.maxTransitionalWindow, rec.i - since);
              since = -1;
            }
          }
          if (!bySplit) continue;
          if (o.what === 'table-alloc' && o.ok) row.tableAllocs++;
          if (o.what === 'install-table' && o.ok) {
            row.pteWrites++;
            if (o.replaced === 'block') row.installTableSwaps++;
          }
          if (o.what === 'pte-write') row.pteWrites++;
          if (o.what === 'tlbi' && o.kind !== 'noop') row.tlbInvalidations++;
          if (o.what === 'split-return') row.pagesSplit = Number(o.split);
        }
        if (rec.actor === 'splitter') row.splitSteps++;
        if (since >= 0) row.transitionalSteps++;
      },
    });
    if (r.violation || r.error || !r.quiescent) throw new Error(`split cost run ${split}/bbml${bbml}/${flush}: ${r.violation?.message ?? r.error?.message ?? 'not quiescent'}`);
    rows.push(row);
  }
  return rows;
}

/** Table 2: migrations over drawn workloads. */
export function migrationCosts(runs = Number(process.env.BENCH_DIRTY_RUNS ?? 300)): MigrationCostRow[] {
  const alts: [string, Params][] = [
    ['split=none (upstream, block-granule report)', {}],
    ['hugePages=false (map pages from the start)', { hugePages: false }],
    ['split=recursive bbml=1 flush=end (seed)', { split: 'recursive', bbml: 1 }],
    ['split=recursive bbml=2 flush=end', { split: 'recursive', bbml: 2 }],
    ['split=straight bbml=2 flush=end', { split: 'straight', bbml: 2 }],
    ['split=straight bbml=1 flush=perBlock', { split: 'straight', bbml: 1, flush: 'perBlock' }],
    ['split=recursive bbml=0 (refused)', { split: 'recursive', bbml: 0 }],
    ['split=straight bbml=2 background iova-read', { split: 'straight', bbml: 2, splitWhen: 'background', splitLock: 'iova-read' }],
  ];
  return alts.map(([alternative, over]) => {
    // Blocks layout, no injected faults: the costs of the choice, not of error paths.
    const params: Params = { ...defaults(), layout: 'blocks', faultRate: 0, ...over };
    const r = explore({ scenario: dirtyScenario, params, bug: null, runs, seed: 7, strategy: 'random', depth: 3, maxSteps: 20000 });
    const m = r.metrics;
    const per = (k: string) => Math.round(((m[k] ?? 0) / r.runs) * 100) / 100;
    return {
      alternative,
      runs: r.runs,
      meanOverReportedBytesPerGet: m.meanOverReportedBytesPerGet ?? 0,
      tlbMissesPerDma: m.dmaAccesses ? Math.round((m.tlbMisses / m.dmaAccesses) * 1000) / 1000 : 0,
      pteWritesPerRun: per('pteWrites'),
      tableAllocsPerRun: per('tableAllocs'),
      installTableSwapsPerRun: per('installTableSwaps'),
      tlbInvalidationsPerRun: per('tlbInvalidations'),
      transitionalStepsPerRun: per('transitionalSteps'),
      meanSteps: m.meanSteps,
      violations: r.violations,
    };
  });
}

export interface FindRow {
  variant: string;
  strategy: string;
  /** 1-based index of the first failing run (what `pagerace explore dirty --bug NAME --runs N --strategy S` finds), or null. */
  runsToFind: number | null;
  monitor: string | null;
  /** The failing schedule replayed to the same monitor, step and message. */
  replays: boolean;
}

/**
 * Runs to find each variant, as `pagerace explore dirty --bug NAME --runs N` (seed 1, depth 3,
 * max-steps 20000, the variant's params): random first, PCT when random finds nothing.
 */
export function variantRunsToFind(runs = 20000, only?: string[], onRow?: (r: FindRow) => void): FindRow[] {
  const rows: FindRow[] = [];
  for (const bug of dirtyScenario.bugs) {
    if (only && !only.includes(bug.name)) continue;
    const params = defaultParams(dirtyScenario, bug.name);
    for (const strategy of ['random', 'pct'] as const) {
      const o = { scenario: dirtyScenario, params, bug: bug.name, runs, seed: 1, strategy, depth: 3, maxSteps: 20000 };
      const r = exploreRange(o, { from: 0, to: runs });
      const v = r.failing?.result.violation;
      let replays = false;
      if (v) {
        const again = replaySchedule({ scenario: dirtyScenario, params, bug: bug.name, maxSteps: 20000 }, r.failing!.result.schedule);
        replays = again.violation?.monitor === v.monitor && again.violation?.step === v.step && again.violation?.message === v.message;
      }
      const row: FindRow = { variant: bug.name, strategy, runsToFind: v ? r.failing!.run + 1 : null, monitor: v?.monitor ?? null, replays };
      onRow?.(row);
      rows.push(row);
      if (v) break;
    }
  }
  return rows;
}

export interface CleanRow {
  alternative: string;
  strategy: string;
  runs: number;
  violations: number;
  errored: number;
  first: string | null;
}

/** The non-default design alternatives the fixed model must be clean under (docs/dirty.md). */
export const CLEAN_ALTERNATIVES: [string, Params][] = [
  ['split=recursive', { split: 'recursive' }],
  ['split=straight', { split: 'straight' }],
  ['split=recursive bbml=0', { split: 'recursive', bbml: 0 }],
  ['split=recursive bbml=2', { split: 'recursive', bbml: 2 }],
  ['split=straight bbml=2 flush=perBlock', { split: 'straight', bbml: 2, flush: 'perBlock' }],
  ['split=recursive splitWhen=background', { split: 'recursive', splitWhen: 'background' }],
  ['split=straight bbml=2 splitWhen=background splitLock=iova-read', { split: 'straight', bbml: 2, splitWhen: 'background', splitLock: 'iova-read' }],
  ['split=recursive splitGuard=intended bbml=2 splitWhen=background', { split: 'recursive', splitGuard: 'intended', bbml: 2, splitWhen: 'background' }],
  ['bitmap=chunked', { bitmap: 'chunked' }],
  ['getRanges=subrange', { getRanges: 'subrange' }],
  ['hugePages=false', { hugePages: false }],
  ['tlbCachesDirty=false', { tlbCachesDirty: false }],
  ['partialUnmap=true tableIgnoredBits=random', { partialUnmap: true, tableIgnoredBits: 'random' }],
];

/** The fixed model over `runs` runs of one alternative (as `pagerace explore dirty --set ...`). */
export function cleanRuns(alternative: string, over: Params, runs: number, strategy: 'random' | 'pct' = 'pct'): CleanRow {
  const params = { ...defaultParams(dirtyScenario, null), ...over };
  const r = exploreRange({ scenario: dirtyScenario, params, bug: null, runs, seed: 1, strategy, depth: 3, maxSteps: 20000 }, { from: 0, to: runs });
  const v = r.failing?.result.violation;
  return { alternative, strategy, runs: r.runs, violations: v ? 1 : 0, errored: r.errored.length, first: v ? `run ${r.failing!.run}: ${v.monitor}: ${v.message}` : null };
}

/** Both tables as rows (what `npm run bench` prints). */
export function dirtyCostTable(runs?: number): { split: SplitCostRow[]; migration: MigrationCostRow[] } {
  return { split: splitCosts(), migration: migrationCosts(runs) };
}

export function markdown(t: { split: SplitCostRow[]; migration: MigrationCostRow[] }): string {
  const table = (rows: object[]) => {
    const keys = Object.keys(rows[0]);
    return [`| ${keys.join(' | ')} |`, `|${keys.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${keys.map((k) => String((r as Record<string, unknown>)[k])).join(' | ')} |`)].join('\n');
  };
  return `One split of the blocks layout (levels=3, fanout=4; A0 = one L1 block, A1 = two L2 blocks):\n\n${table(t.split)}\n\nMigrations (drawn workloads, blocks layout, no faults):\n\n${table(t.migration)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(markdown(dirtyCostTable()));
  // BENCH_DIRTY_FIND=N: also runs-to-find per variant over N-run explorations, and the fixed model
  // over N/10 PCT runs per alternative (20000 gives the issue's figures; slow).
  const n = Number(process.env.BENCH_DIRTY_FIND ?? 0);
  if (n > 0) {
    console.log('\nRuns to find each variant (seed 1, depth 3; random, then PCT if random finds nothing):\n');
    console.log('| variant | strategy | runs to find | monitor | replays |\n|---|---|---|---|---|');
    variantRunsToFind(n, undefined, (r) => console.log(`| ${r.variant} | ${r.strategy} | ${r.runsToFind ?? `not in ${n}`} | ${r.monitor ?? '-'} | ${r.replays} |`));
    console.log(`\nThe fixed model, ${n / 10} PCT runs per alternative:\n`);
    console.log('| alternative | runs | violations | errored |\n|---|---|---|---|');
    for (const [name, over] of CLEAN_ALTERNATIVES) {
      const c = cleanRuns(name, over, n / 10);
      console.log(`| ${name} | ${c.runs} | ${c.violations}${c.first ? ` (${c.first})` : ''} | ${c.errored} |`);
    }
  }
}
