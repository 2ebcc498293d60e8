/**
 * Exploration: run after run from one seed, stop at the first violation, shrink it, and describe
 * everything with a digest over every run's trace hash (same inputs, same digest). One strategy
 * object serves the whole exploration; each run is derived from (seed, run index), so results do
 * not depend on how runs are batched. A run that throws (a model error, a dead thread) is reported
 * as errored with its seed, step and schedule, and the exploration goes on.
 */
import { createHash } from 'node:crypto';
import type { EngineName } from './engine/engine.ts';
import { Coverage, type CoverageReport, mergeCoverage } from './coverage.ts';
import type { ExecRuntime } from './model/executor.ts';
import type { Params, Scenario } from './model/scenario.ts';
import { replayable } from './modes.ts';
import { runSeed } from './prng.ts';
import { type RunResult, runOnce } from './run.ts';
import type { Schedule } from './schedule.ts';
import { shrink } from './shrink.ts';
import { type StrategyName, makeStrategy } from './strategies/make.ts';
import { pctBound } from './strategies/pct.ts';
import type { Strategy } from './strategies/strategy.ts';

export interface ExploreOptions {
  scenario: Scenario;
  params: Params;
  bug: string | null;
  runs: number;
  seed: number;
  strategy: StrategyName;
  depth: number;
  maxSteps: number;
  /** Called after every run (progress, cancellation checks). Return false to stop early. */
  onRun?: (index: number, r: RunResult) => boolean | void;
  /** Where steps run (a scenario's mode name; default inline). */
  mode?: string;
  /** The live runtime for `mode` (threads); absent means inline. */
  runtime?: ExecRuntime;
  /** Whether a run in `mode` replays step for step (and can be shrunk); default: the scenario says. */
  replayable?: boolean;
  /** What advances the machines (default: the fast engine; both give the same runs). */
  engine?: EngineName;
  /** A fixed workload for every run (`--workload`); absent: each run draws its own. */
  workload?: unknown;
  /** Delay bounding: deviations from the default order per run (K). */
  delays?: number;
  /** Collect coverage of the machines (ExploreResult.coverage). */
  coverage?: boolean;
  /** Stop when no new (machine, state, event) triple was seen for this many runs (implies coverage). */
  untilCoverage?: number;
  /** dfs: stop after this many distinct states (the space is then not exhausted). */
  maxStates?: number;
  /** dfs: branch on the workload's draws too (default: the workload comes from the run seed). */
  branchWorkload?: boolean;
  /** Shrink the first violation (default true; benchmarks counting runs to a bug turn it off). */
  shrink?: boolean;
  /** This shard of the exploration (index from 0): a contiguous part of the runs (sampling) or of the subtrees (dfs). */
  shard?: { index: number; count: number };
}

/** A run that threw instead of finishing: its index, run seed, the step and the error's first line. */
export interface ErroredRun {
  run: number;
  seed: number;
  /** The step that threw (-1: while building the world, or unknown: the worker thread died). */
  step: number;
  error: string;
  /** The schedule up to and including the step that threw: replaying it throws the same error. */
  schedule?: Schedule;
}

export interface FoundViolation {
  run: number;
  runSeed: number;
  monitor: string;
  message: string;
  actors: string[];
  messages: number[];
  /** Step of the violation in the shrunk schedule. */
  step: number;
  foundSteps: number;
  schedule: Schedule;
  shrinkAttempts: number;
}

export interface ExploreResult {
  runs: number;
  steps: number;
  violations: number;
  digest: string;
  metrics: Record<string, number>;
  firstViolation: FoundViolation | null;
  /** Largest thread count and step count seen: PCT's n and k. */
  maxThreads: number;
  maxRunSteps: number;
  /** Runs that threw, in run order (not counted in `runs`). */
  errored: ErroredRun[];
  mode: string;
  /** Machine coverage (with `coverage` or `untilCoverage`). */
  coverage?: CoverageReport;
  /** Sharded: which part this is, and every run's trace hash in run order (what merging needs for the digest). */
  shard?: { index: number; count: number; from: number; to: number };
  traceHashes?: string[];
  /** dfs: what the search covered. */
  search?: SearchSummary;
  /** dfs sharded: the visited states' hashes (sorted), which merge by union into the digest. */
  stateHashes?: string[];
  /** --until-coverage stopped the exploration (no new triple for that many runs). */
  coverageSaturated?: boolean;
}

/** What an exhaustive search reports. */
export interface SearchSummary {
  /** Distinct states visited (world and monitor state, by hash). */
  states: number;
  /** Steps executed. */
  transitions: number;
  /** Executions (root-to-leaf paths). */
  executions: number;
  /** Deepest step reached. */
  maxDepth: number;
  /** Every execution ended at quiescence or at a state explored elsewhere: nothing was cut by a bound. */
  exhausted: boolean;
  /** Executions ended at a state already explored, or with every enabled step asleep. */
  revisits: number;
  sleepBlocked: number;
  /** Executions cut by --max-steps; the state budget (--max-states) was hit. */
  bounded: number;
  budgetHit: boolean;
  /** How executions got back to where they departed: restoring saved states, or re-executing from the root. */
  restore: 'snapshot' | 'replay';
  /** The monitors' state is part of the state hash. */
  monitorsHashed: boolean;
  /** Workloads searched (one per run seed). */
  workloads: number;
  /** Subtrees left to other shards. */
  otherShards: number;
}

/** The runs [from, to) of an exploration: the unit a worker executes. */
export interface RunRange {
  from: number;
  to: number;
}

export interface RangeResult {
  runs: number;
  steps: number;
  traceHashes: string[];
  metrics: Record<string, number>;
  maxThreads: number;
  maxRunSteps: number;
  /** First failing run in the range, unshrunk. */
  failing: { run: number; result: RunResult } | null;
  /** Runs that threw. */
  errored: ErroredRun[];
  /** The first run index this range did not execute (== to when it ran them all). */
  next: number;
  /** Coverage of the runs in this range (and, cumulatively, of the ranges before it in one drive). */
  coverage?: CoverageReport;
  /** --until-coverage stopped this range. */
  saturated?: boolean;
}

export function emptyRange(next: number): RangeResult {
  return { runs: 0, steps: 0, traceHashes: [], metrics: {}, maxThreads: 0, maxRunSteps: 0, failing: null, errored: [], next };
}

/** The runs this exploration (or its shard) executes: the shard's contiguous share of [0, runs). */
export function runRange(o: Pick<ExploreOptions, 'runs' | 'shard'>): RunRange {
  if (!o.shard) return { from: 0, to: o.runs };
  const at = (i: number) => Math.floor((i * o.runs) / o.shard!.count);
  return { from: at(o.shard.index), to: at(o.shard.index + 1) };
}

/** The coverage collector an exploration needs, if any (one per exploration or worker drive). */
export function coverageFor(o: ExploreOptions): Coverage | undefined {
  return o.coverage || o.untilCoverage ? new Coverage() : undefined;
}

/** The exploration's strategy object (one per exploration, or per worker thread). */
export function strategyFor(o: ExploreOptions): Strategy {
  return makeStrategy(o.strategy, { depth: o.depth, steps: o.scenario.stepEstimate(o.params), delays: o.delays });
}

export function exploreRange(o: ExploreOptions, range: RunRange, strategy: Strategy = strategyFor(o), cov: Coverage | undefined = coverageFor(o)): RangeResult {
  const out = emptyRange(range.to);
  const covHooks = cov ? { onStart: (w: import('./world.ts').World) => cov.addWorld(w), onStep: (rec: import('./model/monitor.ts').StepRecord) => cov.onStep(rec) } : {};
  for (let i = range.from; i < range.to; i++) {
    const seed = runSeed(o.seed, i);
    const seen = cov?.newTriples ?? 0;
    const r = runOnce({ scenario: o.scenario, params: o.params, bug: o.bug, seed, run: i, strategy, maxSteps: o.maxSteps, runtime: o.runtime, engine: o.engine, workload: o.workload, ...covHooks });
    if (cov) cov.quietRuns = cov.newTriples > seen ? 0 : cov.quietRuns + 1;
    if (r.error) {
      out.errored.push({ run: i, seed, step: r.error.step, error: r.error.message, schedule: r.schedule });
      // A dead thread: stop here so the caller can heal the runtime before going on.
      if (o.runtime && !o.runtime.healthy()) {
        out.next = i + 1;
        break;
      }
      continue;
    }
    out.runs++;
    out.steps += r.steps;
    out.traceHashes.push(r.traceHash);
    out.maxThreads = Math.max(out.maxThreads, r.threads);
    out.maxRunSteps = Math.max(out.maxRunSteps, r.steps);
    addMetrics(out.metrics, r);
    const go = o.onRun?.(i, r);
    if (r.violation) {
      out.failing = { run: i, result: r };
      out.next = i + 1;
      break;
    }
    if (go === false) {
      out.next = i + 1;
      break;
    }
    if (cov && o.untilCoverage && cov.quietRuns >= o.untilCoverage) {
      out.saturated = true;
      out.next = i + 1;
      break;
    }
  }
  if (cov) out.coverage = cov.report();
  return out;
}

/**
 * Ranges that follow each other, in run order, as one: everything up to and including the first
 * failing range. The parts of a range run in pieces, and the ranges of an exploration, both merge here.
 */
export function concatRanges(parts: RangeResult[], next?: number): RangeResult {
  const out = emptyRange(next ?? 0);
  for (const r of parts) {
    out.runs += r.runs;
    out.steps += r.steps;
    out.traceHashes.push(...r.traceHashes);
    for (const [k, v] of Object.entries(r.metrics)) mergeMetric(out.metrics, k, v);
    out.maxThreads = Math.max(out.maxThreads, r.maxThreads);
    out.maxRunSteps = Math.max(out.maxRunSteps, r.maxRunSteps);
    out.errored.push(...r.errored);
    out.next = r.next;
    if (r.coverage) out.coverage = out.coverage ? mergeCoverage([out.coverage, r.coverage]) : r.coverage;
    if (r.saturated) {
      out.saturated = true;
      break;
    }
    if (r.failing) {
      out.failing = r.failing;
      break;
    }
  }
  if (next !== undefined && !out.failing && !out.saturated) out.next = next;
  return out;
}

export function explore(o: ExploreOptions): ExploreResult {
  return finishExplore(o, [exploreRange(o, runRange(o))]);
}

/** Combine range results (in run order) into the exploration's result, shrinking the first failure. */
export function finishExplore(o: ExploreOptions, ranges: RangeResult[]): ExploreResult {
  const all = concatRanges(ranges);
  const digest = createHash('sha256');
  for (const h of all.traceHashes) digest.update(h);
  const metrics = all.metrics;
  metrics.meanSteps = all.runs ? Math.round((all.steps / all.runs) * 10) / 10 : 0;
  Object.assign(metrics, o.scenario.derive?.(metrics) ?? {});
  if (o.strategy === 'pct') metrics.pctBound = pctBound(Math.max(1, all.maxThreads), Math.max(1, all.maxRunSteps), o.depth);
  const failing = all.failing;
  const firstViolation = failing ? shrunkViolation(o, failing) : null;
  return {
    runs: all.runs,
    steps: all.steps,
    violations: failing ? 1 : 0,
    digest: digest.digest('hex'),
    metrics,
    firstViolation,
    maxThreads: all.maxThreads,
    maxRunSteps: all.maxRunSteps,
    errored: all.errored,
    mode: o.mode ?? 'inline',
    ...(all.coverage ? { coverage: all.coverage } : {}),
    ...(all.saturated ? { coverageSaturated: true } : {}),
    ...(o.shard ? { shard: { ...o.shard, ...runRange(o) }, traceHashes: all.traceHashes } : {}),
  };
}

/** A failing run shrunk (when its mode replays step for step) into what the result reports. */
export function shrunkViolation(o: ExploreOptions, failing: { run: number; result: RunResult }): FoundViolation {
  const v = failing.result.violation!;
  const t = { scenario: o.scenario, params: o.params, bug: o.bug, maxSteps: o.maxSteps, engine: o.engine, workload: o.workload };
  // Shrinking replays inline: a replayable mode's trace is inline's, so the shrunk schedule holds
  // for both. A run whose threads raced freely cannot be replayed: keep it as found.
  const s = o.shrink === false || !(o.replayable ?? replayable(o.scenario, o.mode ?? 'inline')) ? { schedule: failing.result.schedule, result: failing.result, attempts: 0 } : shrink(t, failing.result.schedule, v.monitor);
  const sv = s.result.violation!;
  return {
    run: failing.run,
    runSeed: failing.result.schedule.seed,
    monitor: sv.monitor,
    message: sv.message,
    actors: sv.actors,
    messages: sv.messages,
    step: sv.step,
    foundSteps: failing.result.steps,
    schedule: s.schedule,
    shrinkAttempts: s.attempts,
  };
}

/** Counters add up; `max*` metrics keep the largest. */
function mergeMetric(into: Record<string, number>, k: string, v: number): void {
  into[k] = k.startsWith('max') ? Math.max(into[k] ?? 0, v) : (into[k] ?? 0) + v;
}

export function addMetrics(into: Record<string, number>, r: RunResult): void {
  for (const [k, v] of Object.entries(r.metrics)) mergeMetric(into, k, v);
  if (r.quiescent) into.quiescentRuns = (into.quiescentRuns ?? 0) + 1;
  else if (!r.violation) into.boundedRuns = (into.boundedRuns ?? 0) + 1;
}
