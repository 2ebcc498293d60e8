/**
 * The differential check between two engines: the same run (scenario, params, variant, seed,
 * strategy) on both, compared step for step. Each step is compared as its full trace line with the
 * stepped actor's context (the step key, the event, the states before and after, the messages sent,
 * the observations, the lock events, the context), and each run by its trace hash, verdict,
 * metrics, schedule (choices and data), error and, at its end, the world hash (every actor's state
 * and context, messages in flight, locks, timers, shared state). A mismatch names the first step
 * that differs, with both records.
 */
import { runSeed } from '../prng.ts';
import type { Params, Scenario } from '../model/scenario.ts';
import { type RunResult, runOnce } from '../run.ts';
import { type StrategyName, makeStrategy } from '../strategies/make.ts';
import { traceLine } from '../trace.ts';
import type { World } from '../world.ts';
import type { EngineName } from './engine.ts';

export interface EngineRun {
  /** Every step's full trace line, with the stepped actor's context. */
  lines: string[];
  result: RunResult;
  /** World.hash() after the last step ('' when the world was never built). */
  worldHash: string;
}

export interface DiffTarget {
  scenario: Scenario;
  params: Params;
  bug: string | null;
  strategy: StrategyName;
  depth: number;
  maxSteps: number;
}

export interface Mismatch {
  scenario: string;
  bug: string | null;
  strategy: StrategyName;
  run: number;
  seed: number;
  /** The first step whose records differ (-1: the runs differ only in their results). */
  step: number;
  /** What differs: "step", "trace hash", "verdict", "metrics", "schedule", "error", "world hash", "steps". */
  what: string;
  a: { engine: EngineName; record: string };
  b: { engine: EngineName; record: string };
}

/** One run on one engine, with every step's full line and the final world hash. */
export function runOn(engine: EngineName, t: DiffTarget, run: number, seed: number): EngineRun {
  const lines: string[] = [];
  let world: World | null = null;
  const strategy = makeStrategy(t.strategy, { depth: t.depth, steps: t.scenario.stepEstimate(t.params) });
  const result = runOnce({
    scenario: t.scenario,
    params: t.params,
    bug: t.bug,
    seed,
    run,
    strategy,
    maxSteps: t.maxSteps,
    engine,
    onStart: (w) => {
      world = w;
    },
    onStep: (rec, w) => lines.push(traceLine(rec, w.contextOf(rec.actor))),
  });
  return { lines, result, worldHash: world ? (world as World).hash() : '' };
}

/** Compare one run on two engines: the mismatch, or null when they agree on everything. */
export function compareRun(t: DiffTarget, run: number, seed: number, engines: [EngineName, EngineName] = ['xstate', 'fast']): { mismatch: Mismatch | null; result: RunResult } {
  const [ea, eb] = engines;
  const a = runOn(ea, t, run, seed);
  const b = runOn(eb, t, run, seed);
  return { mismatch: firstDifference(t, run, seed, ea, a, eb, b), result: a.result };
}

/** The first difference between two runs (of the same target, run number and seed), or null. */
export function firstDifference(t: DiffTarget, run: number, seed: number, ea: EngineName, a: EngineRun, eb: EngineName, b: EngineRun): Mismatch | null {
  const mismatch = (step: number, what: string, ra: string, rb: string): Mismatch => ({
    scenario: t.scenario.name,
    bug: t.bug,
    strategy: t.strategy,
    run,
    seed,
    step,
    what,
    a: { engine: ea, record: ra },
    b: { engine: eb, record: rb },
  });
  const n = Math.max(a.lines.length, b.lines.length);
  for (let i = 0; i < n; i++) {
    if (a.lines[i] !== b.lines[i]) return mismatch(i, 'step', a.lines[i] ?? '(no step)', b.lines[i] ?? '(no step)');
  }
  const ra = a.result;
  const rb = b.result;
  const checks: [string, unknown, unknown][] = [
    ['steps', ra.steps, rb.steps],
    ['trace hash', ra.traceHash, rb.traceHash],
    ['verdict', ra.violation, rb.violation],
    ['quiescence', ra.quiescent, rb.quiescent],
    ['metrics', ra.metrics, rb.metrics],
    ['schedule', ra.schedule, rb.schedule],
    ['error', ra.error ?? null, rb.error ?? null],
    ['divergence', ra.divergence ?? null, rb.divergence ?? null],
    ['world hash', a.worldHash, b.worldHash],
  ];
  for (const [what, x, y] of checks) {
    const sx = JSON.stringify(x);
    const sy = JSON.stringify(y);
    if (sx !== sy) return mismatch(-1, what, sx, sy);
  }
  return null;
}

export interface DiffSummary {
  runs: number;
  steps: number;
  violations: number;
  errored: number;
  mismatches: Mismatch[];
}

/**
 * Runs [from, from + runs) of an exploration with seed `seed` (run seeds derived as explore
 * derives them), each on both engines. Stops at the first mismatch unless `all`.
 */
export function differential(t: DiffTarget, o: { seed: number; runs: number; from?: number; all?: boolean; engines?: [EngineName, EngineName] }): DiffSummary {
  const out: DiffSummary = { runs: 0, steps: 0, violations: 0, errored: 0, mismatches: [] };
  const from = o.from ?? 0;
  for (let i = from; i < from + o.runs; i++) {
    const seed = runSeed(o.seed, i);
    const { mismatch: m, result } = compareRun(t, i, seed, o.engines);
    out.runs++;
    out.steps += result.steps;
    if (result.violation) out.violations++;
    if (result.error) out.errored++;
    if (m) {
      out.mismatches.push(m);
      if (!o.all) break;
    }
  }
  return out;
}

/** A mismatch as a few lines of text. */
export function describeMismatch(m: Mismatch): string {
  const where = m.step >= 0 ? `first differing step ${m.step}` : `the runs differ in their ${m.what}`;
  return [
    `${m.scenario} ${m.bug ?? '(fixed)'} ${m.strategy} run ${m.run} (run seed ${m.seed}): ${where}`,
    `  ${m.a.engine}: ${m.a.record}`,
    `  ${m.b.engine}: ${m.b.record}`,
  ].join('\n');
}
