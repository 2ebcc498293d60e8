/**
 * `pagerace explore <scenario>`: runs, stops at the first violation, shrinks it, writes a repro
 * file and prints the command that replays it. Human summary on stderr; `--json` on stdout.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type ExploreResult, explore } from '../../actors/explore.ts';
import { REPRO_FORMAT, REPRO_VERSION, type Repro } from '../../actors/repro.ts';
import { STRATEGY_NAMES, type StrategyName } from '../../actors/strategies/make.ts';
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
  json?: boolean;
}

export async function exploreCommand(scenarioName: string, f: ExploreFlags): Promise<number> {
  const scenario = findScenario(scenarioName);
  const bug = findBug(scenario, f.bug);
  const params = applySets(scenario, defaults(scenario, bug), f.set);
  if (!(STRATEGY_NAMES as readonly string[]).includes(f.strategy)) fail(`--strategy must be one of ${STRATEGY_NAMES.join(', ')}, got "${f.strategy}"`);
  const strategy = f.strategy as StrategyName;
  const runs = parseCount('--runs', f.runs);
  const seed = parseSeed(f.seed);
  const depth = parseCount('--depth', f.depth, 1);
  const maxSteps = parseCount('--max-steps', f.maxSteps, 1);

  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  // Wall-clock time is measured outside the runs: it never enters a trace or the digest.
  const started = process.hrtime.bigint();
  const result = explore({ scenario, params, bug, runs, seed, strategy, depth, maxSteps, onRun: () => !interrupted });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.off('SIGINT', onSigint);

  let reproPath: string | null = null;
  let inspectorPath: string | null = null;
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
    };
    reproPath = join(f.out, `${scenario.name}-${bug ?? 'fixed'}-${strategy}-s${seed}-r${v.run}.json`);
    try {
      mkdirSync(f.out, { recursive: true });
      writeFileSync(reproPath, JSON.stringify(repro, null, 1) + '\n');
    } catch (e) {
      // Keep what was computed: print it, then report the write failure.
      printSummary(result, { scenario: scenario.name, strategy, seed, bug, seconds, reproPath: null, json: f.json, interrupted });
      fail(`cannot write repro file ${reproPath}: ${(e as NodeJS.ErrnoException).code ?? String(e)}; choose another --out directory`);
    }
    // The offline HTML inspector, beside the repro (once per violation, not per run).
    inspectorPath = reproPath.replace(/\.json$/, '.html');
    try {
      await writeReproInspector(repro, reproPath, inspectorPath);
    } catch (e) {
      printSummary(result, { scenario: scenario.name, strategy, seed, bug, seconds, reproPath, json: f.json, interrupted });
      throw e;
    }
  }
  printSummary(result, { scenario: scenario.name, strategy, seed, bug, seconds, reproPath, inspectorPath, json: f.json, interrupted });
  return result.firstViolation ? 1 : 0;
}

interface SummaryInfo {
  scenario: string;
  strategy: string;
  seed: number;
  bug: string | null;
  seconds: number;
  reproPath: string | null;
  inspectorPath?: string | null;
  json?: boolean;
  interrupted: boolean;
}

function printSummary(r: ExploreResult, s: SummaryInfo): void {
  const runsPerSecond = s.seconds > 0 ? Math.round(r.runs / s.seconds) : r.runs;
  const v = r.firstViolation;
  const replayCmd = s.reproPath ? `npx pagerace replay ${relative(process.cwd(), s.reproPath) || s.reproPath}` : null;
  if (s.json) {
    const out = {
      scenario: s.scenario,
      runs: r.runs,
      steps: r.steps,
      violations: r.violations,
      runsPerSecond,
      digest: r.digest,
      metrics: r.metrics,
      firstViolation: v
        ? { monitor: v.monitor, message: v.message, run: v.run, seed: v.runSeed, step: v.step, repro: s.reproPath, actors: v.actors, messages: v.messages, foundSteps: v.foundSteps, inspector: s.inspectorPath ?? null }
        : null,
    };
    process.stdout.write(JSON.stringify(out) + '\n');
  }
  const lines = [
    `pagerace explore ${s.scenario}: ${r.runs} run(s)${s.interrupted ? ' (interrupted)' : ''}, strategy ${s.strategy}, seed ${s.seed}, bug ${s.bug ?? 'none (fixed model)'}`,
    `  ${r.steps} steps, ${runsPerSecond} runs/s, ${r.violations} violation(s)`,
    `  digest ${r.digest}`,
    `  metrics ${Object.entries(r.metrics).map(([k, x]) => `${k}=${Number.isInteger(x) ? x : x.toPrecision(3)}`).join(' ')}`,
  ];
  if (v) {
    lines.push(
      `VIOLATION ${v.monitor} in run ${v.run} (run seed ${v.runSeed}) at step ${v.step} (shrunk from ${v.foundSteps} steps)`,
      `  ${v.message}`,
      `  actors: ${v.actors.join(', ') || '-'}; messages: ${v.messages.map((m) => `#${m}`).join(', ') || '-'}`,
    );
    if (s.reproPath) lines.push(`  repro: ${s.reproPath}`, `  replay: ${replayCmd}`);
    if (s.inspectorPath) lines.push(`  inspector: ${s.inspectorPath}`);
  }
  process.stderr.write(lines.join('\n') + '\n');
}
