/** Shared helpers for the iommufd-flush tests. */
import { explore, exploreRange, strategyFor } from '../../../core/explore.ts';
import type { ActorObservation, Monitor, QuiescenceView, StepRecord } from '../../../core/model/monitor.ts';
import type { Params } from '../../../core/model/scenario.ts';
import { runOnce, type RunResult } from '../../../core/run.ts';
import { makeStrategy, type StrategyName } from '../../../core/strategies/make.ts';
import type { Strategy } from '../../../core/strategies/strategy.ts';
import { runSeed } from '../../../core/prng.ts';
import { flushScenario } from '../../../systems/iommufd-flush/scenario.ts';

export const S = flushScenario;

export function defaults(over: Params = {}, bug: string | null = null): Params {
  const base = Object.fromEntries(S.parameters.map((p) => [p.name, p.default]));
  const v = bug ? S.bugs.find((b) => b.name === bug)?.params ?? {} : {};
  return { ...base, ...v, ...over };
}

export const step = (i: number, obs: ActorObservation[] = [], p: Partial<StepRecord> = {}): StepRecord => ({
  i,
  t: i,
  step: 'x',
  actor: 'vmm0',
  event: { type: 'STEP' },
  before: 'idle',
  after: 'idle',
  delivered: null,
  sent: [],
  obs,
  locks: [],
  ...p,
});

let seq = 0;
export const o = (what: string, fields: Record<string, unknown>, actor = 'vmm0'): ActorObservation => ({ what, actor, seq: seq++, ...fields });

export function feed(m: Monitor, steps: StepRecord[], q?: QuiescenceView, params: Params = {}) {
  const inst = m.create(params);
  for (const s of steps) {
    const v = inst.onStep?.(s);
    if (v) return v;
  }
  return q && inst.atQuiescence ? inst.atQuiescence(q) : null;
}

/** Always the first enabled step; faults only where certain (failNth). */
export class InOrder implements Strategy {
  readonly name = 'in-order';
  newExecution(): void {}
  choose(): number {
    return 0;
  }
  chooseData(d: { n: number; p?: number }): number {
    return d.p !== undefined ? (d.p >= 1 ? 1 : 0) : 0;
  }
}

export function inOrder(params: Params, bug: string | null = null): RunResult {
  return runOnce({ scenario: S, params, bug, seed: 1, strategy: new InOrder(), maxSteps: 5000 });
}

export function run(seed: number, params: Params, bug: string | null = null, strategy: StrategyName = 'random', extra: Partial<Parameters<typeof runOnce>[0]> = {}): RunResult {
  return runOnce({ scenario: S, params, bug, seed: runSeed(seed, 0), strategy: makeStrategy(strategy, { depth: 3, steps: S.stepEstimate(params) }), maxSteps: 5000, ...extra });
}

/** The first failing run of an exploration, unshrunk (fast), or null. */
export function firstFailing(params: Params, bug: string | null, runs: number, strategy: StrategyName = 'random', scenario = S) {
  const o = { scenario, params, bug, runs, seed: 1, strategy, depth: 3, maxSteps: 5000 };
  const r = exploreRange(o, { from: 0, to: runs }, strategyFor(o));
  return { failing: r.failing, runs: r.runs, errored: r.errored };
}

export { explore };
