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
import { fail, parseCount, parseSeed } from '../usage.ts';
import { checkFixedWorkload, fixWorkload, readWorkloadFile } from '../workload.ts';

export interface ExploreFlags {
  runs: string;
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
  workload?: string;
  checkpoint?: string;
  resume?: string;
  quiet?: boolean;
  json?: boolean;
}

export const MAX_WORKERS = 64;

/** Flags that define the exploration: a resumed one takes them from its checkpoint. */
const DEFINING = ['runs', 'seed', 'strategy', 'depth', 'bug', 'set', 'maxSteps', 'mode', 'workload'] as const;

/** Wall-clock interval between checkpoints (saving never changes a result). */
export const CHECKPOINT_EVERY_MS = 5000;

export async function exploreCommand(scenarioArg: string | undefined, f: ExploreFlags, cmd?: Command): Promise<number> {
  const workers = parseWorkers(f.workers);
  let spec: ExplorationSpec;
  let resume;
  let ref;
  if (f.resume) {
    const given = DEFINING.filter((k) => cmd?.getOptionValueSource(k) === 'cli');
    if (given.length) fail(`--resume takes the exploration from ${f.resume}; do not give --${flagName(given[0])} with it (allowed: --workers, --out, --repro, --checkpoint, --quiet, --json)`);
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
    spec = {
      scenario: scenario.name,
      ...(ref.module ? { module: ref.module } : {}),
      params,
      bug,
      runs: parseCount('--runs', f.runs),
      seed: parseSeed(f.seed),
      strategy: f.strategy,
      depth: parseCount('--depth', f.depth, 1),
      maxSteps: parseCount('--max-steps', f.maxSteps, 1),
      mode: f.mode,
      ...(wl ? { workload, workloadFile: wl.path } : {}),
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
}

function flagName(k: string): string {
  return k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function parseWorkers(raw: string): number {
  const n = /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS) fail(`--workers must be a whole number from 1 to ${MAX_WORKERS}, got "${raw}"`);
  return n;
}
