/**
 * `pagerace explore <scenario>`: runs, stops at the first violation, shrinks it, writes a repro
 * file and the offline HTML inspector beside it, and prints the command that replays it. Human
 * summary on stderr; `--json` on stdout.
 * Exit codes: 0 clean, 1 a violation, 3 no violation but some runs errored, 2 bad input.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPRO_FORMAT, REPRO_VERSION, type Repro } from '../../core/repro.ts';
import { STRATEGY_NAMES, type StrategyName } from '../../core/strategies/make.ts';
import { modeNames, replayable } from '../../core/modes.ts';
import { runExploration } from '../explore/run.ts';
import { printSummary } from '../explore/summary.ts';
import { applySets, defaults, findBug, findScenario } from '../params.ts';
import { fail, parseCount, parseSeed } from '../usage.ts';
import { writeReproInspector } from './inspect.ts';

export interface ExploreFlags {
  /** Default: 1000 runs; 1 workload for dfs and 1 schedule for --fail-nth. */
  runs?: string;
  seed: string;
  strategy: string;
  depth: string;
  bug?: string;
  set: string[];
  maxSteps: string;
  out: string;
  mode: string;
  workers: string;
  json?: boolean;
  delays: string;
  maxStates?: string;
  branchWorkload?: boolean;
  shard?: string;
  failNth?: boolean;
  untilCoverage?: string;
}

export const MAX_WORKERS = 64;

export async function exploreCommand(scenarioName: string, f: ExploreFlags): Promise<number> {
  const scenario = findScenario(scenarioName);
  const bug = findBug(scenario, f.bug);
  const params = applySets(scenario, defaults(scenario, bug), f.set);
  if (!(STRATEGY_NAMES as readonly string[]).includes(f.strategy)) fail(`--strategy must be one of ${STRATEGY_NAMES.join(', ')}, got "${f.strategy}"`);
  const strategy = f.strategy as StrategyName;
  const modes = modeNames(scenario);
  if (!modes.includes(f.mode)) fail(`--mode must be one of ${modes.join(', ')} for scenario ${scenario.name}, got "${f.mode}"`);
  const mode = f.mode;
  const workers = parseWorkers(f.workers);
  const runs = parseCount('--runs', f.runs ?? (strategy === 'dfs' || f.failNth ? '1' : '1000'));
  const seed = parseSeed(f.seed);
  const depth = parseCount('--depth', f.depth, 1);
  const maxSteps = parseCount('--max-steps', f.maxSteps, 1);
  const delays = parseCount('--delays', f.delays);
  const maxStates = f.maxStates === undefined ? undefined : parseCount('--max-states', f.maxStates, 1);
  const untilCoverage = f.untilCoverage === undefined ? undefined : parseCount('--until-coverage', f.untilCoverage, 1);
  const shard = f.shard === undefined ? undefined : parseShard(f.shard);
  if (strategy === 'dfs') {
    if (mode !== 'inline') fail(`--strategy dfs runs inline only (it saves and restores the world), got --mode ${mode}`);
    if (workers !== 1) fail('--strategy dfs runs in one thread: give --workers 1 (or shard it: --shard I/N)');
    if (f.failNth) fail('--fail-nth sweeps the schedules of a sampling strategy (random, pct, delay), not dfs');
    if (untilCoverage !== undefined) fail('--until-coverage stops sampling runs; dfs stops when its space is exhausted');
  } else {
    if (maxStates !== undefined) fail('--max-states bounds --strategy dfs only');
    if (f.branchWorkload) fail('--branch-workload applies to --strategy dfs only');
  }
  if (f.failNth && untilCoverage !== undefined) fail('--until-coverage does not combine with --fail-nth');
  if (untilCoverage !== undefined && workers !== 1) fail('--until-coverage needs the runs in order: give --workers 1');

  const o = {
    scenario,
    params,
    bug,
    runs,
    seed,
    strategy,
    depth,
    maxSteps,
    mode,
    replayable: replayable(scenario, mode),
    delays,
    coverage: true,
    ...(untilCoverage !== undefined ? { untilCoverage } : {}),
    ...(maxStates !== undefined ? { maxStates } : {}),
    ...(f.branchWorkload ? { branchWorkload: true } : {}),
    ...(shard ? { shard } : {}),
  };
  const { result, interrupted, seconds } = await runExploration(o, workers, { failNth: f.failNth });
  const label = f.failNth ? `${strategy}-fail-nth` : strategy;
  const info = {
    scenario: scenario.name,
    strategy: label,
    seed,
    bug,
    mode,
    workers,
    seconds,
    replayable: o.replayable,
    reproPath: null as string | null,
    inspectorPath: null as string | null,
    errorReproPath: null as string | null,
    json: f.json,
    interrupted,
  };
  const base = { format: REPRO_FORMAT, version: REPRO_VERSION, scenario: scenario.name, parameters: params, bug, strategy: label, depth, seed, maxSteps, mode } as const;
  const name = (run: number, tail = '') => join(f.out, `${scenario.name}-${bug ?? 'fixed'}-${label}${mode === 'inline' ? '' : `-${mode}`}-s${seed}-r${run}${tail}.json`);
  // Keep what was computed: on a write failure, print it, then report the failure.
  const write = (path: string, repro: Repro) => {
    try {
      mkdirSync(f.out, { recursive: true });
      writeFileSync(path, JSON.stringify(repro, null, 1) + '\n');
    } catch (e) {
      printSummary(result, info);
      fail(`cannot write repro file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}; choose another --out directory`);
    }
  };

  if (result.firstViolation) {
    const v = result.firstViolation;
    const repro: Repro = { ...base, run: v.run, violation: { monitor: v.monitor, message: v.message, step: v.step }, foundSteps: v.foundSteps, schedule: v.schedule };
    const reproPath = name(v.run);
    write(reproPath, repro);
    info.reproPath = reproPath;
    // The offline HTML inspector, beside the repro (once per violation, not per run). A run whose
    // threads raced freely is not replayable step for step, so it gets none.
    if (o.replayable) {
      const inspectorPath = reproPath.replace(/\.json$/, '.html');
      try {
        await writeReproInspector(repro, reproPath, inspectorPath);
      } catch (e) {
        printSummary(result, info);
        throw e;
      }
      info.inspectorPath = inspectorPath;
    }
  } else {
    // No violation but a run threw: a repro of the first errored run replays to the same error.
    const e = result.errored.find((x) => x.schedule);
    if (e?.schedule) {
      const path = name(e.run, '-error');
      write(path, { ...base, run: e.run, violation: null, error: { step: e.step, message: e.error }, foundSteps: e.step + 1, schedule: e.schedule });
      info.errorReproPath = path;
    }
  }
  printSummary(result, info);
  if (result.firstViolation) return 1;
  return result.errored.length ? 3 : 0;
}

/** `I/N`: shard I (from 0) of N. */
export function parseShard(raw: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(raw.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !(count >= 1) || !(index < count) || count > 1_000_000) fail(`--shard must be I/N with 0 <= I < N (e.g. 0/4), got "${raw}"`);
  return { index, count };
}

function parseWorkers(raw: string): number {
  const n = /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS) fail(`--workers must be a whole number from 1 to ${MAX_WORKERS}, got "${raw}"`);
  return n;
}
