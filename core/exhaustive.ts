/**
 * `explore --strategy dfs`: the exhaustive search (core/search.ts driving core/strategies/dfs.ts)
 * as an exploration: its result has the same shape as a sampling exploration's, with `search`
 * (states, transitions, depth, exhausted), a digest over the visited states' hashes (sorted, so
 * that shards merge by union), coverage, and the first violation shrunk like any other.
 *
 * Runs: each run index is one workload (the workload drawn from that run's seed), searched
 * exhaustively over its schedules and the data choices made during the run.
 */
import { createHash } from 'node:crypto';
import { Coverage } from './coverage.ts';
import { type ExploreOptions, type ExploreResult, shrunkViolation } from './explore.ts';
import { search } from './search.ts';
import { Dfs } from './strategies/dfs.ts';

/** Depth (in steps) at which a sharded search deals its subtrees out. */
export const SHARD_DEPTH = 6;

export function exploreDfs(o: ExploreOptions): ExploreResult {
  const dfs = new Dfs({
    maxStates: o.maxStates,
    shard: o.shard ? { ...o.shard, depth: SHARD_DEPTH } : undefined,
  });
  const coverage = o.coverage || o.untilCoverage ? new Coverage() : undefined;
  const r = search({
    scenario: o.scenario,
    params: o.params,
    bug: o.bug,
    seed: o.seed,
    workloads: o.runs,
    maxSteps: o.maxSteps,
    strategy: dfs,
    workload: o.branchWorkload ? 'branch' : 'seed',
    ...(o.workload !== undefined ? { fixedWorkload: o.workload } : {}),
    coverage,
    engine: o.engine,
  });
  const hashes = dfs.stateHashes().sort();
  const digest = createHash('sha256');
  for (const h of hashes) digest.update(h);
  const st = dfs.stats;
  return {
    runs: r.executions,
    steps: r.transitions,
    violations: r.failing ? 1 : 0,
    digest: digest.digest('hex'),
    metrics: {},
    firstViolation: r.failing ? shrunkViolation({ ...o, mode: 'inline' }, r.failing) : null,
    maxThreads: 0,
    maxRunSteps: st.maxDepth,
    errored: r.errored.map((e) => ({ run: e.run, seed: e.seed, step: e.step, error: e.error, schedule: e.schedule })),
    mode: 'inline',
    search: {
      states: st.states,
      transitions: r.transitions,
      executions: st.executions,
      maxDepth: st.maxDepth,
      exhausted: dfs.exhausted && !r.failing && r.erroredCount === 0 && !r.interrupted,
      revisits: st.revisits,
      sleepBlocked: st.sleepBlocked,
      bounded: st.bounded,
      budgetHit: st.budgetHit,
      restore: r.restore,
      monitorsHashed: r.monitorsHashed,
      workloads: o.runs,
      otherShards: st.otherShards,
    },
    ...(coverage ? { coverage: coverage.report() } : {}),
    ...(o.shard ? { shard: { ...o.shard, from: 0, to: o.runs }, stateHashes: hashes } : {}),
  };
}
