/**
 * Parallel exploration over a piscina pool: the same digest, first violation and repro as one
 * thread; and a worker killed in the middle of a batch does not lose the exploration.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type ExploreOptions, explore, exploreRange } from '../../core/explore.ts';
import { runSeed } from '../../core/prng.ts';
import { iopfScenario } from '../../systems/iopf/scenario.ts';
import { exploreParallel, planBatches } from '../../workers/explore/parallel.ts';
import { laneWord } from '../../workers/explore/batch.ts';
import { iopfDefaults } from '../helpers.ts';

const base = (over: Partial<ExploreOptions> = {}): ExploreOptions => ({
  scenario: iopfScenario,
  params: iopfDefaults(),
  bug: null,
  runs: 200,
  seed: 21,
  strategy: 'random',
  depth: 3,
  maxSteps: 20000,
  ...over,
});

describe('parallel exploration', () => {
  it('gives the single-thread digest and metrics with 2 workers (random and PCT)', async () => {
    for (const strategy of ['random', 'pct'] as const) {
      const o = base({ strategy });
      const one = explore(o);
      const { result: two } = await exploreParallel(o, 2, { batchSize: 40 });
      expect(two.digest).toBe(one.digest);
      expect(two.runs).toBe(one.runs);
      expect(two.steps).toBe(one.steps);
      expect(two.metrics).toEqual(one.metrics);
      expect(two.errored).toEqual([]);
    }
  });

  it('plans guided batches: in run order, no gap, shrinking toward the tail, 10 to 250 runs; fixed when asked', () => {
    for (const [runs, workers] of [[3000, 2], [20000, 2], [95, 4], [7, 2]]) {
      const plan = planBatches(runs, workers);
      expect(plan[0].from).toBe(0);
      expect(plan.at(-1)!.to).toBe(runs);
      for (let k = 1; k < plan.length; k++) expect(plan[k].from).toBe(plan[k - 1].to);
      const sizes = plan.map((r) => r.to - r.from);
      for (let k = 1; k < sizes.length; k++) expect(sizes[k]).toBeLessThanOrEqual(sizes[k - 1]);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(250);
      expect(Math.min(...sizes.slice(0, -1), 10)).toBeGreaterThanOrEqual(10);
    }
    // 3000 runs over 2 workers: starts at 250 and ends with batches of 10 (and the remainder).
    const sizes = planBatches(3000, 2).map((r) => r.to - r.from);
    expect([sizes[0], sizes.at(-2), sizes.at(-1)]).toEqual([250, 10, 7]);
    expect(planBatches(100, 2, 30).map((r) => r.to - r.from)).toEqual([30, 30, 30, 10]);
  });

  it('gives the single-thread digest with the default (guided) batches', async () => {
    const o = base({ runs: 300, seed: 4 });
    const { result } = await exploreParallel(o, 2);
    expect(result.digest).toBe(explore(o).digest);
    expect(result.runs).toBe(300);
  });

  it('finds the same first violation (run, shrunk schedule, message) as one thread, even when a later batch fails first', async () => {
    const bug = iopfScenario.bugs.find((b) => b.name === 'fault-install-without-ptl')!;
    const o = base({ bug: bug.name, params: iopfDefaults(bug.params), runs: 400, seed: 2 });
    const one = explore(o);
    expect(one.firstViolation).not.toBeNull();
    // Batches of 3 runs: many batches run after the failing one and several may fail too.
    const { result: two } = await exploreParallel(o, 2, { batchSize: 3 });
    expect(two.firstViolation).toEqual(one.firstViolation);
    expect(two.digest).toBe(one.digest);
    expect(two.runs).toBe(one.runs);
  });

  it('completes when a worker is killed mid-batch, reporting that run as errored with its seed', async () => {
    const o = base({ runs: 240 });
    let kill: Promise<number> | null = null;
    const { result } = await exploreParallel(o, 2, {
      batchSize: 60,
      onPool: (pool, ctl) => {
        // Once lane 0's batch is a few runs in, terminate the thread running it (or its neighbour).
        const poll = setInterval(() => {
          if (Atomics.load(ctl, laneWord(0)) >= 3 && pool.threads.length === 2 && !kill) {
            kill = pool.threads[0].terminate();
            clearInterval(poll);
          }
        }, 2);
      },
    });
    expect(kill).not.toBeNull();
    expect(result.errored).toHaveLength(1);
    const e = result.errored[0];
    expect(e.seed).toBe(runSeed(o.seed, e.run));
    expect(e.error).toMatch(/worker failed/);
    expect(result.runs).toBe(o.runs - 1);
    // Every other run is there, in order: the digest is one thread's without the errored run.
    const hashes = exploreRange(o, { from: 0, to: o.runs }).traceHashes.filter((_, i) => i !== e.run);
    const digest = createHash('sha256');
    for (const h of hashes) digest.update(h);
    expect(result.digest).toBe(digest.digest('hex'));
  });

  it('stops on abort with the contiguous prefix of runs done so far', async () => {
    const controller = new AbortController();
    const o = base({ runs: 3000 });
    const { result, interrupted } = await exploreParallel(o, 2, {
      signal: controller.signal,
      batchSize: 50,
      onPool: (_pool, ctl) => {
        const poll = setInterval(() => {
          if (Atomics.load(ctl, laneWord(0)) >= 5) {
            controller.abort();
            clearInterval(poll);
          }
        }, 2);
      },
    });
    expect(interrupted).toBe(true);
    expect(result.runs).toBeGreaterThan(0);
    expect(result.runs).toBeLessThan(3000);
    expect(result.digest).toBe(explore({ ...o, runs: result.runs }).digest);
  });
});
