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
  runs: string;
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
  const runs = parseCount('--runs', f.runs);
  const seed = parseSeed(f.seed);
  const depth = parseCount('--depth', f.depth, 1);
  const maxSteps = parseCount('--max-steps', f.maxSteps, 1);

  const o = { scenario, params, bug, runs, seed, strategy, depth, maxSteps, mode, replayable: replayable(scenario, mode) };
  const { result, interrupted, seconds } = await runExploration(o, workers);
  const info = { scenario: scenario.name, strategy, seed, bug, mode, workers, seconds, reproPath: null as string | null, inspectorPath: null as string | null, json: f.json, interrupted };

  if (result.firstViolation) {
    const v = result.firstViolation;
    const repro: Repro = {
      format: REPRO_FORMAT,
      version: REPRO_VERSION,
      scenario: scenario.name,
      parameters: params,
      bug,
      strategy,
      depth,
      seed,
      run: v.run,
      maxSteps,
      violation: { monitor: v.monitor, message: v.message, step: v.step },
      foundSteps: v.foundSteps,
      schedule: v.schedule,
      mode,
    };
    const reproPath = join(f.out, `${scenario.name}-${bug ?? 'fixed'}-${strategy}${mode === 'inline' ? '' : `-${mode}`}-s${seed}-r${v.run}.json`);
    try {
      mkdirSync(f.out, { recursive: true });
      writeFileSync(reproPath, JSON.stringify(repro, null, 1) + '\n');
    } catch (e) {
      // Keep what was computed: print it, then report the write failure.
      printSummary(result, info);
      fail(`cannot write repro file ${reproPath}: ${(e as NodeJS.ErrnoException).code ?? String(e)}; choose another --out directory`);
    }
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
  }
  printSummary(result, info);
  if (result.firstViolation) return 1;
  return result.errored.length ? 3 : 0;
}

function parseWorkers(raw: string): number {
  const n = /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS) fail(`--workers must be a whole number from 1 to ${MAX_WORKERS}, got "${raw}"`);
  return n;
}
