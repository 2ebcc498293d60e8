/**
 * pagerace as a library: `import { explore, replay, list, scenarios, defineScenario } from 'pagerace'`.
 *
 * - explore(): the same exploration as `pagerace explore`, resolving to the object
 *   `explore --json` prints (scenario by name, module path or object; parameters default).
 * - replay(): a repro file (or object) re-executed; the object `replay --json` prints.
 * - list(): the object `list --json` prints. `scenarios`: the built-in scenarios by name.
 * - defineScenario() and the rest of the model API: what the built-in systems are written with,
 *   for your own system (docs/own-system.md).
 *
 * Bad input throws a PageraceError whose message is the one line the CLI would print.
 */
import type { Params, Scenario } from '../core/model/scenario.ts';
import { ScenarioError, checkScenario } from '../core/model/define.ts';
import { type Repro, ReproError, readRepro, validateRepro } from '../core/repro.ts';
import { STRATEGY_NAMES } from '../core/strategies/make.ts';
import { modeNames } from '../core/modes.ts';
import { runJob } from '../cli/explore/job.ts';
import { type ExploreReport, exploreReport } from '../cli/explore/summary.ts';
import { type ReplayReport, replayRepro } from '../cli/commands/replay.ts';
import { listReport } from '../cli/commands/list.ts';
import { checkParams, defaults, findBug, resolveScenario } from '../cli/params.ts';
import { UsageError } from '../cli/usage.ts';
import { checkFixedWorkload, fixWorkload, parseWorkloadFile, readWorkloadFile } from '../cli/workload.ts';
import type { ProgressCounts } from '../cli/progress.ts';
import { scenarios as builtIn } from '../systems/index.ts';

export { defineScenario, ScenarioError, type ScenarioDefinition } from '../core/model/define.ts';
export { defineKind, guard } from '../core/model/kind.ts';
export type { ActorKind, DataPort, Footprint, Offer, Ports, WorldView } from '../core/model/kind.ts';
export { effectActions } from '../core/model/effects.ts';
export type { LockParams, Observation, SendParams } from '../core/model/effects.ts';
export { stateful } from '../core/model/monitor.ts';
export type { Envelope, Monitor, MonitorInstance, QuiescenceView, StepRecord, Verdict, Violation } from '../core/model/monitor.ts';
export type { SharedPort, SharedState } from '../core/model/shared.ts';
export type { LockKind, LockMode } from '../core/model/locks.ts';
export type { ActorSpec, BugVariant, ParamSpec, ParamValue, Params, Scenario, SharedEnv, SharedSetup, WorldSpec } from '../core/model/scenario.ts';
export type { StandardSchemaV1, WorkloadSpec } from '../core/model/workload.ts';
export type { Repro } from '../core/repro.ts';
export type { ExploreReport } from '../cli/explore/summary.ts';
export type { ReplayReport } from '../cli/commands/replay.ts';
export type { ProgressCounts } from '../cli/progress.ts';
// Shared kernel pieces a system's scenario may list among its monitors.
export { lockdep } from '../kernel/lockdep.ts';
export { noLeak } from '../kernel/noLeak.ts';

/** Bad input: the message is the one line the CLI prints (without "pagerace: "). */
export const PageraceError = UsageError;
export type PageraceError = UsageError;

/** The built-in scenarios, by name. */
export const scenarios: Readonly<Record<string, Scenario>> = builtIn;

export interface ExploreOptions {
  /** A built-in scenario's name, the path of a scenario module, or a scenario object (defineScenario). */
  scenario: string | Scenario;
  /** Default 1000. */
  runs?: number;
  /** Default 1. */
  seed?: number;
  /** Default 'random'. */
  strategy?: 'random' | 'pct';
  /** PCT depth; default 3. */
  depth?: number;
  /** A bug variant of the scenario; default none (the fixed model). */
  bug?: string | null;
  /** Parameters over the scenario's defaults (and the variant's), checked as `--set` is. */
  params?: Record<string, number | boolean | string>;
  /** Step bound per run; default 20000. */
  maxSteps?: number;
  /** Default 'inline'. */
  mode?: string;
  /** Worker threads; default 1 (a scenario object needs 1: threads load scenarios by name or path). */
  workers?: number;
  /** A workload file's path, or its contents as an object ({ scenario?, parameters?, workload }). */
  workload?: string | { scenario?: string; description?: string; parameters?: Record<string, unknown>; workload: unknown };
  /** Write repro files (and the inspector) into this folder; default: write nothing. */
  out?: string;
  /** Write the repro of a violation to exactly this file. */
  repro?: string;
  /** Stop after the runs in progress; the result is that of the runs done. */
  signal?: AbortSignal;
  /** Called as runs finish (at least every few hundred runs). */
  onProgress?: (p: ProgressCounts & { total: number }) => void;
}

/** Run an exploration; resolves to the object `pagerace explore --json` prints. */
export async function explore(options: ExploreOptions): Promise<ExploreReport> {
  const o = options;
  let scenario: Scenario;
  let module: string | undefined;
  if (typeof o.scenario === 'string') ({ scenario, module } = await resolveScenario(o.scenario));
  else {
    try {
      checkScenario(o.scenario);
    } catch (e) {
      if (e instanceof ScenarioError) throw new UsageError(e.message);
      throw e;
    }
    scenario = o.scenario;
  }
  const workers = count('workers', o.workers ?? 1, 1, 64);
  if (workers > 1 && typeof o.scenario !== 'string' && builtIn[scenario.name] !== scenario) {
    throw new UsageError('workers > 1 needs the scenario by name or module path (worker threads load it); give workers: 1 for a scenario object');
  }
  const bug = findBug(scenario, o.bug ?? undefined);
  let params: Params = defaults(scenario, bug);
  let workload: unknown;
  let workloadFile: string | undefined;
  if (o.workload !== undefined) {
    const file =
      typeof o.workload === 'string' ? readWorkloadFile(o.workload) : parseWorkloadFile(JSON.stringify({ scenario: scenario.name, ...o.workload }), 'workload');
    if (file.scenario !== scenario.name) throw new UsageError(`workload ${file.path} is written for scenario ${file.scenario}, not ${scenario.name}`);
    ({ workload, params } = await fixWorkload(scenario, file, params));
    workloadFile = typeof o.workload === 'string' ? o.workload : undefined;
  }
  if (o.params) params = checkParams(scenario, o.params, 'params', params);
  if (workload !== undefined) checkFixedWorkload(scenario, workload, params, `${workloadFile ?? 'workload'}: `);
  const strategy = o.strategy ?? 'random';
  if (!(STRATEGY_NAMES as readonly string[]).includes(strategy)) throw new UsageError(`strategy must be one of ${STRATEGY_NAMES.join(', ')}, got "${strategy}"`);
  const mode = o.mode ?? 'inline';
  if (!modeNames(scenario).includes(mode)) throw new UsageError(`mode must be one of ${modeNames(scenario).join(', ')} for scenario ${scenario.name}, got "${mode}"`);
  const spec = {
    scenario: scenario.name,
    ...(module ? { module } : {}),
    params,
    bug,
    runs: count('runs', o.runs ?? 1000, 0),
    seed: count('seed', o.seed ?? 1, 0, 0xffffffff),
    strategy,
    depth: count('depth', o.depth ?? 3, 1),
    maxSteps: count('maxSteps', o.maxSteps ?? 20000, 1),
    mode,
    ...(workload !== undefined ? { workload, workloadFile } : {}),
    // As the CLI: delay bounding's default bound, and the machines' coverage in the report.
    delays: 2,
    coverage: true,
  };
  const total = spec.runs;
  const progress = o.onProgress ? { update: (c: ProgressCounts) => o.onProgress!({ ...c, total }), done() {} } : undefined;
  const out = await runJob({ scenario, spec, workers, out: o.out ?? null, repro: o.repro, progress, signal: o.signal });
  if (out.writeError) throw out.writeError;
  return exploreReport(out.result, out.info);
}

/** Re-execute a repro (a file path or the object explore wrote); resolves to what `replay --json` prints. */
export async function replay(repro: string | Repro, options: { trace?: string } = {}): Promise<ReplayReport> {
  let r: Repro;
  let file: string;
  try {
    if (typeof repro === 'string') {
      r = readRepro(repro);
      file = repro;
    } else {
      r = validateRepro(repro, 'repro');
      file = 'repro';
    }
  } catch (e) {
    if (e instanceof ReproError) throw new UsageError(e.message);
    throw e;
  }
  const { report, code, lines } = await replayRepro(r, file, options);
  if (code === 2) throw new UsageError(lines[0].replace(/^pagerace replay: /, ''));
  return report;
}

/** The scenarios with their parameters, variants and monitors: what `pagerace list --json` prints. */
export function list(): ReturnType<typeof listReport> {
  return listReport();
}

function count(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return v;
}
