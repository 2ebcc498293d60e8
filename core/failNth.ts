/**
 * `--fail-nth`: the iommufd_fail_nth sweep. For each of the first `runs` schedules (the runs of
 * the exploration's sampling strategy, each from its run seed) and n = 1, 2, ...: run it again
 * with the nth injected-fault draw of the run failing (any labelled `data.fault` draw: an
 * allocation, an unplug, a user copy) and every other fault draw succeeding, and check every
 * monitor; stop at the first n that the run no longer reaches. Scheduling choices and the other
 * data choices come from the run's own streams, so the sweep is deterministic. Reports which sites
 * (labels) were failed and the first violation, shrunk like any other.
 */
import { createHash } from 'node:crypto';
import { type ExploreOptions, type ExploreResult, type RunRange, addMetrics, coverageFor, runRange, shrunkViolation, strategyFor } from './explore.ts';
import { runSeed } from './prng.ts';
import { type RunResult, runOnce } from './run.ts';
import type { Choice, ChoiceContext, DataDraw, ExecutionInfo, Strategy } from './strategies/strategy.ts';

/** The base strategy's choices, except that fault draw number `n` (from 1) fails and the others do not. */
export class FailNth implements Strategy {
  readonly name = 'fail-nth';
  n = 1;
  /** Fault draws made in this execution so far. */
  faults = 0;
  /** The label of the draw that was failed, if the run reached it. */
  failed: string | null = null;

  constructor(private readonly base: Strategy) {}

  newExecution(e: ExecutionInfo): void {
    this.base.newExecution(e);
    this.faults = 0;
    this.failed = null;
  }

  choose(enabled: readonly Choice[], step: number, ctx?: ChoiceContext): number {
    return this.base.choose(enabled, step, ctx);
  }

  chooseData(d: DataDraw): number {
    if (!d.fault) return this.base.chooseData(d);
    this.faults++;
    if (this.faults !== this.n) return 0;
    this.failed = d.label;
    return 1;
  }
}

export interface FailNthSummary {
  /** Schedules swept (run indexes). */
  schedules: number;
  /** Runs executed (one per schedule and n). */
  runs: number;
  /** The largest n any schedule reached. */
  maxN: number;
  /** Each failed site (label) and how many runs failed it. */
  sites: Record<string, number>;
  /** The violation's schedule index and n. */
  violationAt: { run: number; n: number; site: string } | null;
}

export function sweepFailNth(o: ExploreOptions, range: RunRange = runRange(o)): ExploreResult & { failNth: FailNthSummary } {
  const strategy = new FailNth(strategyFor(o));
  const digest = createHash('sha256');
  const traceHashes: string[] = [];
  const sites: Record<string, number> = {};
  const metrics: Record<string, number> = {};
  let runs = 0;
  let steps = 0;
  let maxN = 0;
  let maxRunSteps = 0;
  let failing: { run: number; result: RunResult } | null = null;
  let violationAt: FailNthSummary['violationAt'] = null;
  const errored: ExploreResult['errored'] = [];
  const cov = coverageFor(o);
  const hooks = cov ? { onStart: cov.addWorld.bind(cov), onStep: cov.onStep.bind(cov) } : {};
  for (let i = range.from; i < range.to && !failing; i++) {
    const seed = runSeed(o.seed, i);
    for (let n = 1; ; n++) {
      strategy.n = n;
      const r = runOnce({ scenario: o.scenario, params: o.params, bug: o.bug, seed, run: i, strategy, maxSteps: o.maxSteps, runtime: o.runtime, engine: o.engine, workload: o.workload, ...hooks });
      if (r.error) {
        errored.push({ run: i, seed, step: r.error.step, error: r.error.message, schedule: r.schedule });
        if (strategy.faults < n) break;
        continue;
      }
      runs++;
      steps += r.steps;
      maxRunSteps = Math.max(maxRunSteps, r.steps);
      traceHashes.push(r.traceHash);
      digest.update(r.traceHash);
      addMetrics(metrics, r);
      if (strategy.failed) {
        sites[strategy.failed] = (sites[strategy.failed] ?? 0) + 1;
        maxN = Math.max(maxN, n);
      }
      if (r.violation) {
        failing = { run: i, result: r };
        violationAt = { run: i, n, site: strategy.failed ?? '(none)' };
        break;
      }
      // The run made fewer than n fault draws: no nth to fail, this schedule is swept.
      if (strategy.faults < n) break;
    }
  }
  metrics.meanSteps = runs ? Math.round((steps / runs) * 10) / 10 : 0;
  Object.assign(metrics, o.scenario.derive?.(metrics) ?? {});
  return {
    runs,
    steps,
    violations: failing ? 1 : 0,
    digest: digest.digest('hex'),
    metrics,
    firstViolation: failing ? shrunkViolation(o, failing) : null,
    maxThreads: 0,
    maxRunSteps,
    errored,
    mode: o.mode ?? 'inline',
    ...(cov ? { coverage: cov.report() } : {}),
    ...(o.shard ? { shard: { ...o.shard, ...range }, traceHashes } : {}),
    failNth: { schedules: range.to - range.from, runs, maxN, sites, violationAt },
  };
}
