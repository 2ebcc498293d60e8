/**
 * `pagerace explore [scenario]`: runs, stops at the first violation, shrinks it, writes a repro
 * file and the offline HTML inspector beside it, and prints the command that replays it. Human
 * summary on stderr (with progress while it runs, on a terminal); `--json` on stdout.
 * The scenario is a built-in name or a user's module (./my-scenario.ts); `--workload FILE`
 * fixes what each actor does (the file names its scenario); `--checkpoint FILE` saves progress
 * every few seconds and on Ctrl-C, and `--resume FILE` continues it to the same result.
 * Exit codes: 0 clean, 1 a violation, 3 no violation but some runs errored, 2 bad input.
 */
import type { Command } from 'commander';
import type { Scenario } from '../../core/model/scenario.ts';
import { STRATEGY_NAMES } from '../../core/strategies/make.ts';
import { modeNames } from '../../core/modes.ts';
import { type ExplorationSpec, readCheckpoint } from '../explore/checkpoint.ts';
import { runJob } from '../explore/job.ts';
import { printSummary } from '../explore/summary.ts';
import { applySets, checkParams, defaults, findBug, resolveScenario } from '../params.ts';
import { progressFor } from '../progress.ts';
import { fail, parseCount, parseEngine, parseSeed } from '../usage.ts';
import { checkFixedWorkload, fixWorkload, readWorkloadFile } from '../workload.ts';

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
  repro?: string;
  mode: string;
  workers: string;
  engine?: string;
  workload?: string;
  checkpoint?: string;
  resume?: string;
  quiet?: boolean;
  json?: boolean;
  delays?: string;
  maxStates?: string;
  branchWorkload?: boolean;
  shard?: string;
  failNth?: boolean;
  untilCoverage?: string;
}

export const MAX_WORKERS = 64;

/** Flags that define the exploration: a resumed one takes them from its checkpoint. */
const DEFINING = ['runs', 'seed', 'strategy', 'depth', 'bug', 'set', 'maxSteps', 'mode', 'workload', 'delays', 'maxStates', 'branchWorkload', 'shard', 'failNth', 'untilCoverage'] as const;

/** Wall-clock interval between checkpoints (saving never changes a result). */
export const CHECKPOINT_EVERY_MS = 5000;

export async function exploreCommand(scenarioArg: string | undefined, f: ExploreFlags, cmd?: Command): Promise<number> {
  const workers = parseWorkers(f.workers);
  const engine = parseEngine(f.engine);
  let spec: ExplorationSpec;
  let resume;
  let ref;
  if (f.resume) {
    const given = DEFINING.filter((k) => cmd?.getOptionValueSource(k) === 'cli');
    if (given.length) fail(`--resume takes the exploration from ${f.resume}; do not give --${flagName(given[0])} with it (allowed: --workers, --engine, --out, --repro, --checkpoint, --quiet, --json)`);
    const cp = readCheckpoint(f.resume);
    spec = cp.exploration;
    if (scenarioArg !== undefined && scenarioArg !== spec.scenario && scenarioArg !== spec.module) fail(`${f.resume} is a checkpoint of scenario ${spec.scenario}, not ${scenarioArg}`);
    ref = await resolveScenario(spec.module ?? spec.scenario);
    checkSpec(ref.scenario, spec, f.resume);
    if (spec.workload !== undefined) {
      const { validateWorkload } = await import('../workload.ts');
      spec.workload = await validateWorkload(ref.scenario, spec.workload, `${f.resume}: `);
      checkFixedWorkload(ref.scenario, spec.workload, spec.params, `${f.resume}: `);
    }
    resume = cp.done;
  } else {
    const wl = f.workload ? readWorkloadFile(f.workload) : null;
    const name = scenarioArg ?? wl?.scenario;
    if (name === undefined) fail('explore needs a scenario: a name (see `pagerace list`), a module path (./my-scenario.ts), or --workload FILE naming one');
    ref = await resolveScenario(name);
    const scenario = ref.scenario;
    if (wl && wl.scenario !== scenario.name) fail(`--workload ${wl.path} is written for scenario ${wl.scenario}, not ${scenario.name}`);
    const bug = findBug(scenario, f.bug);
    let base = defaults(scenario, bug);
    let workload: unknown;
    if (wl) ({ workload, params: base } = await fixWorkload(scenario, wl, base));
    const params = applySets(scenario, base, f.set);
    if (wl) checkFixedWorkload(scenario, workload, params, `${wl.path}: `);
    if (!(STRATEGY_NAMES as readonly string[]).includes(f.strategy)) fail(`--strategy must be one of ${STRATEGY_NAMES.join(', ')}, got "${f.strategy}"`);
    const modes = modeNames(scenario);
    if (!modes.includes(f.mode)) fail(`--mode must be one of ${modes.join(', ')} for scenario ${scenario.name}, got "${f.mode}"`);
    const strategy = f.strategy;
    const mode = f.mode;
    const delays = parseCount('--delays', f.delays ?? '2');
    const maxStates = f.maxStates === undefined ? undefined : parseCount('--max-states', f.maxStates, 1);
    const untilCoverage = f.untilCoverage === undefined ? undefined : parseCount('--until-coverage', f.untilCoverage, 1);
    const shard = f.shard === undefined ? undefined : parseShard(f.shard);
    if (strategy === 'dfs') {
      if (mode !== 'inline') fail(`--strategy dfs runs inline only (it saves and restores the world), got --mode ${mode}`);
      if (workers !== 1) fail('--strategy dfs runs in one thread: give --workers 1 (or shard it: --shard I/N)');
      if (f.failNth) fail('--fail-nth sweeps the schedules of a sampling strategy (random, pct, delay), not dfs');
      if (untilCoverage !== undefined) fail('--until-coverage stops sampling runs; dfs stops when its space is exhausted');
      if (wl && f.branchWorkload) fail('--branch-workload branches on drawn workloads; --workload fixes it: give one of them');
    } else {
      if (maxStates !== undefined) fail('--max-states bounds --strategy dfs only');
      if (f.branchWorkload) fail('--branch-workload applies to --strategy dfs only');
    }
    if (f.failNth && untilCoverage !== undefined) fail('--until-coverage does not combine with --fail-nth');
    if (untilCoverage !== undefined && workers !== 1) fail('--until-coverage needs the runs in order: give --workers 1');
    // Checkpoints cover sampling explorations over all their runs.
    const oneGo = strategy === 'dfs' ? '--strategy dfs' : f.failNth ? '--fail-nth' : shard ? '--shard' : null;
    if (oneGo && f.checkpoint) fail(`--checkpoint saves sampling explorations (random, pct, delay) without --shard; ${oneGo} runs in one go`);
    spec = {
      scenario: scenario.name,
      ...(ref.module ? { module: ref.module } : {}),
      params,
      bug,
      runs: parseCount('--runs', f.runs ?? (strategy === 'dfs' || f.failNth ? '1' : '1000')),
      seed: parseSeed(f.seed),
      strategy,
      depth: parseCount('--depth', f.depth, 1),
      maxSteps: parseCount('--max-steps', f.maxSteps, 1),
      mode,
      ...(wl ? { workload, workloadFile: wl.path } : {}),
      delays,
      coverage: true,
      ...(untilCoverage !== undefined ? { untilCoverage } : {}),
      ...(maxStates !== undefined ? { maxStates } : {}),
      ...(f.branchWorkload ? { branchWorkload: true } : {}),
      ...(shard ? { shard } : {}),
      ...(f.failNth ? { failNth: true } : {}),
    };
  }

  // Ctrl-C: the first stops after the runs in progress (and writes the checkpoint); a second exits.
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    progress.done();
    process.stderr.write(`pagerace: interrupted; finishing the runs in progress${f.checkpoint ?? f.resume ? ' and saving the checkpoint' : ''} (Ctrl-C again to quit at once)\n`);
    controller.abort();
  };
  const checkpoint = f.checkpoint ?? f.resume;
  const progress = progressFor({ total: spec.runs, start: resume?.next ?? 0, label: `explore ${spec.scenario}`, quiet: f.quiet });
  process.on('SIGINT', onSigint);
  let out;
  try {
    out = await runJob({
      scenario: ref.scenario,
      spec,
      workers,
      out: f.out,
      repro: f.repro,
      json: f.json,
      engine,
      progress,
      signal: controller.signal,
      checkpoint,
      checkpointEvery: CHECKPOINT_EVERY_MS,
      resume,
      onCheckpointError: (m) => {
        progress.done();
        process.stderr.write(`pagerace: ${m}\n`);
      },
    });
  } finally {
    process.off('SIGINT', onSigint);
    progress.done();
  }
  printSummary(out.result, out.info);
  if (out.writeError) throw out.writeError;
  if (out.result.firstViolation) return 1;
  return out.result.errored.length ? 3 : 0;
}

/** A checkpoint's exploration against the scenario as it is now. */
function checkSpec(scenario: Scenario, spec: ExplorationSpec, file: string): void {
  if (!(STRATEGY_NAMES as readonly string[]).includes(spec.strategy)) fail(`${file}: strategy "${spec.strategy}" is not one of ${STRATEGY_NAMES.join(', ')}`);
  if (!modeNames(scenario).includes(spec.mode)) fail(`${file}: mode "${spec.mode}" is not a mode of scenario ${scenario.name}`);
  findBug(scenario, spec.bug ?? undefined);
  spec.params = checkParams(scenario, spec.params, `${file}: exploration.params`);
  if (spec.strategy === 'dfs' || spec.failNth !== undefined || spec.shard !== undefined || spec.maxStates !== undefined || spec.branchWorkload !== undefined) {
    fail(`${file}: a checkpoint holds a sampling exploration (random, pct, delay) without --shard or --fail-nth`);
  }
  const count = (v: unknown, min: number) => v === undefined || (Number.isSafeInteger(v) && (v as number) >= min);
  if (!count(spec.delays, 0)) fail(`${file}: field "exploration.delays" must be a whole number (or absent)`);
  if (!count(spec.untilCoverage, 1)) fail(`${file}: field "exploration.untilCoverage" must be a whole number >= 1 (or absent)`);
  if (spec.coverage !== undefined && typeof spec.coverage !== 'boolean') fail(`${file}: field "exploration.coverage" must be true or false (or absent)`);
}

function flagName(k: string): string {
  return k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
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
