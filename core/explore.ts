/**
 * Exploration: run after run from one seed, stop at the first violation, shrink it, and
 * describe everything with a digest over every run's trace hash (same inputs, same digest).
 * A run that throws (a model error, a dead kworker thread) is reported as errored with its seed
 * and the exploration goes on.
 */
import { createHash } from 'node:crypto';
import type { Params, Scenario } from './model/scenario.ts';
import type { MmMode, MmRuntime } from '../kernel/mm/runtime.ts';
import { runSeed } from './prng.ts';
import { type RunResult, runOnce } from './run.ts';
import type { Schedule } from './schedule.ts';
import { shrink } from './shrink.ts';
import { type StrategyName, makeStrategy } from './strategies/make.ts';
import { pctBound } from './strategies/pct.ts';

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
  /** How memory and handle_mm_fault run (default inline). */
  mode?: MmMode;
  /** The live runtime for `mode` (threads and shared memory); absent means inline. */
  mm?: MmRuntime;
}

/** A run that threw instead of finishing: its index, run seed and the error. */
export interface ErroredRun {
  run: number;
  seed: number;
  error: string;
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
  mode: MmMode;
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
}

export function exploreRange(o: ExploreOptions, range: RunRange): RangeResult {
  const out: RangeResult = { runs: 0, steps: 0, traceHashes: [], metrics: {}, maxThreads: 0, maxRunSteps: 0, failing: null, errored: [], next: range.to };
  const estimate = o.scenario.stepEstimate(o.params);
  for (let i = range.from; i < range.to; i++) {
    const seed = runSeed(o.seed, i);
    let r: RunResult;
    try {
      r = runOnce({
        scenario: o.scenario,
        params: o.params,
        bug: o.bug,
        seed,
        strategy: makeStrategy(o.strategy, seed, { depth: o.depth, steps: estimate }),
        maxSteps: o.maxSteps,
        mm: o.mm,
      });
    } catch (e) {
      out.errored.push({ run: i, seed, error: e instanceof Error ? e.message : String(e) });
      // A dead kworker thread: stop here so the caller can heal the runtime before going on.
      if (o.mm && !o.mm.healthy()) {
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
  }
  return out;
}

/** Ranges that follow each other, as one (the parts of a range run in pieces). */
export function concatRanges(parts: RangeResult[], to: number): RangeResult {
  const out: RangeResult = { runs: 0, steps: 0, traceHashes: [], metrics: {}, maxThreads: 0, maxRunSteps: 0, failing: null, errored: [], next: to };
  for (const r of parts) {
    out.runs += r.runs;
    out.steps += r.steps;
    out.traceHashes.push(...r.traceHashes);
    for (const [k, v] of Object.entries(r.metrics)) mergeMetric(out.metrics, k, v);
    out.maxThreads = Math.max(out.maxThreads, r.maxThreads);
    out.maxRunSteps = Math.max(out.maxRunSteps, r.maxRunSteps);
    out.errored.push(...r.errored);
    out.next = r.next;
    if (r.failing) {
      out.failing = r.failing;
      break;
    }
  }
  return out;
}

export function explore(o: ExploreOptions): ExploreResult {
  return finishExplore(o, [exploreRange(o, { from: 0, to: o.runs })]);
}

/** Combine range results (in run order) into the exploration's result, shrinking the first failure. */
export function finishExplore(o: ExploreOptions, ranges: RangeResult[]): ExploreResult {
  const digest = createHash('sha256');
  const metrics: Record<string, number> = {};
  let runs = 0;
  let steps = 0;
  let maxThreads = 0;
  let maxRunSteps = 0;
  let failing: RangeResult['failing'] = null;
  const errored: ErroredRun[] = [];
  for (const r of ranges) {
    errored.push(...(r.errored ?? []));
    runs += r.runs;
    steps += r.steps;
    for (const h of r.traceHashes) digest.update(h);
    for (const [k, v] of Object.entries(r.metrics)) mergeMetric(metrics, k, v);
    maxThreads = Math.max(maxThreads, r.maxThreads);
    maxRunSteps = Math.max(maxRunSteps, r.maxRunSteps);
    if (r.failing) {
      failing = r.failing;
      break;
    }
  }
  metrics.meanSteps = runs ? Math.round((steps / runs) * 10) / 10 : 0;
  Object.assign(metrics, o.scenario.derive?.(metrics) ?? {});
  if (o.strategy === 'pct') metrics.pctBound = pctBound(Math.max(1, maxThreads), Math.max(1, maxRunSteps), o.depth);
  let firstViolation: FoundViolation | null = null;
  if (failing) {
    const v = failing.result.violation!;
    const t = { scenario: o.scenario, params: o.params, bug: o.bug, maxSteps: o.maxSteps };
    // Shrinking replays inline: a turnstile run's trace is inline's, so the shrunk schedule holds
    // for both. A free-mode run depends on thread timing and cannot be replayed: keep it as found.
    const s = o.mode === 'free' ? { schedule: failing.result.schedule, result: failing.result, attempts: 0 } : shrink(t, failing.result.schedule, v.monitor);
    const sv = s.result.violation!;
    firstViolation = {
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
  return {
    runs,
    steps,
    violations: failing ? 1 : 0,
    digest: digest.digest('hex'),
    metrics,
    firstViolation,
    maxThreads,
    maxRunSteps,
    errored,
    mode: o.mode ?? 'inline',
  };
}

/** Counters add up; `max*` metrics keep the largest. */
function mergeMetric(into: Record<string, number>, k: string, v: number): void {
  into[k] = k.startsWith('max') ? Math.max(into[k] ?? 0, v) : (into[k] ?? 0) + v;
}

function addMetrics(into: Record<string, number>, r: RunResult): void {
  for (const [k, v] of Object.entries(r.metrics)) mergeMetric(into, k, v);
  if (r.quiescent) into.quiescentRuns = (into.quiescentRuns ?? 0) + 1;
  else if (!r.violation) into.boundedRuns = (into.boundedRuns ?? 0) + 1;
}
