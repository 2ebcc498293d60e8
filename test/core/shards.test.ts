/**
 * Shards: the parts of an exploration (--shard I/N) merged give the unsharded digest, coverage
 * and first violation; for sampling strategies and for dfs.
 */
import { describe, expect, it } from 'vitest';
import { exploreDfs } from '../../core/exhaustive.ts';
import { type ExploreOptions, type ExploreResult, explore } from '../../core/explore.ts';
import { type ShardOutput, mergeShards } from '../../core/merge.ts';
import { iopfScenario } from '../../systems/iopf/scenario.ts';
import { iopfDefaults } from '../helpers.ts';

/** What the CLI's --json carries for merging. */
const asOutput = (o: ExploreOptions, r: ExploreResult): ShardOutput => ({
  scenario: o.scenario.name,
  strategy: o.strategy,
  seed: o.seed,
  bug: o.bug,
  runs: r.runs,
  steps: r.steps,
  violations: r.violations,
  digest: r.digest,
  metrics: r.metrics,
  firstViolation: r.firstViolation && { monitor: r.firstViolation.monitor, run: r.firstViolation.run },
  errored: r.errored,
  shard: r.shard!,
  traceHashes: r.traceHashes,
  stateHashes: r.stateHashes,
  coverage: r.coverage,
  exhausted: r.search?.exhausted,
  states: r.search?.states,
  transitions: r.search?.transitions,
});

function shardsMerged(o: ExploreOptions, n: number, run: (o: ExploreOptions) => ExploreResult) {
  const outs = [...Array(n).keys()].map((index) => {
    const so = { ...o, shard: { index, count: n } };
    return { name: `shard${index}`, out: asOutput(so, run(so)) };
  });
  return mergeShards(outs.reverse(), iopfScenario.derive);
}

describe('shards', () => {
  const base = { scenario: iopfScenario, params: iopfDefaults(), seed: 3, depth: 3, maxSteps: 20000, coverage: true };

  it('random: two shards merged equal the unsharded digest, coverage and metrics', () => {
    const o: ExploreOptions = { ...base, bug: null, runs: 60, strategy: 'random' };
    const whole = explore(o);
    const m = shardsMerged(o, 2, explore);
    expect(m.digest).toBe(whole.digest);
    expect(m.runs).toBe(whole.runs);
    expect(m.coverage).toEqual(whole.coverage);
    expect(m.metrics).toEqual(whole.metrics);
  });

  it('random with a violation: the merge stops at the first violating shard, as the unsharded run stops at it', () => {
    const o: ExploreOptions = { ...base, bug: 'partial-leak-on-alloc-failure', params: iopfDefaults({ allocFailRate: 0.3 }), runs: 120, strategy: 'random', shrink: false };
    const whole = explore(o);
    expect(whole.firstViolation).not.toBeNull();
    const m = shardsMerged(o, 3, explore);
    expect(m.digest).toBe(whole.digest);
    expect((m.firstViolation as { run: number }).run).toBe(whole.firstViolation!.run);
    expect(m.coverage).toEqual(whole.coverage);
  });

  it('dfs: two shards merged equal the unsharded digest (the visited states) and coverage', () => {
    const tiny = { devices: 1, groupsPerDevice: 1, maxGroupSize: 2, prqDepth: 2, kworkers: 2, pages: 1, unplugRate: 0, mmOps: 0, iommufdDevices: 0, rebinds: 0, unboundRate: 0, unrecoverableRate: 0, privDataRate: 0 };
    const o: ExploreOptions = { ...base, params: iopfDefaults(tiny), bug: null, runs: 1, strategy: 'dfs' };
    const whole = exploreDfs(o);
    const m = shardsMerged(o, 2, exploreDfs);
    expect(m.states).toBe(whole.search!.states);
    expect(m.digest).toBe(whole.digest);
    expect(m.coverage).toEqual(whole.coverage);
    expect(m.exhausted).toBe(true);
  });
});
