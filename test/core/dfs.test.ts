/**
 * The exhaustive strategy's core steps, on small synthetic state spaces driven the way
 * core/search.ts drives it (here by re-execution from the root): every branch of every scheduling
 * and data choice is taken; the visited set prunes only states already explored; sleep sets never
 * prune a step that is dependent on the one taken. Then the real driver on a tiny IOPF
 * configuration: the fixed model is exhausted clean and the partial leak is found.
 */
import { describe, expect, it } from 'vitest';
import { exploreDfs } from '../../core/exhaustive.ts';
import { Dfs, type DfsOptions } from '../../core/strategies/dfs.ts';
import { type Choice, type ChoiceFootprint, PRUNE } from '../../core/strategies/strategy.ts';
import { iopfScenario } from '../../systems/iopf/scenario.ts';
import { iopfDefaults } from '../helpers.ts';

/**
 * Threads each run `len` steps; a thread's step i writes `x` when `writes(thread, i)` (dependent
 * with every other write), and thread A's first step draws a value in [0, draw).
 */
interface Space {
  threads: string[];
  len: number;
  writes: (t: string, i: number) => boolean;
  draw: number;
}

interface Leaf {
  order: string;
  x: string;
  d: number;
}

function searchAll(space: Space, opts: DfsOptions): { leaves: Leaf[]; dfs: Dfs } {
  const dfs = new Dfs(opts);
  const leaves: Leaf[] = [];
  for (let guard = 0; guard < 100000; guard++) {
    dfs.newExecution({ run: 0, seed: 0, from: -1 });
    const pos = Object.fromEntries(space.threads.map((t) => [t, 0]));
    let x = '-';
    let d = -1;
    const order: string[] = [];
    let end: 'quiescent' | 'pruned' = 'quiescent';
    for (let step = 0; ; step++) {
      const enabled: Choice[] = space.threads.filter((t) => pos[t] < space.len).map((t) => ({ key: `${t}.${pos[t]}`, thread: t }));
      const hash = () => JSON.stringify([pos, x, d]);
      if (enabled.length === 0) break;
      const fp = (i: number): ChoiceFootprint => {
        const t = enabled[i].thread;
        const w = space.writes(t, pos[t]);
        return { actor: t, locks: [], reads: w ? ['x'] : [], writes: w ? ['x'] : [] };
      };
      const i = dfs.choose(enabled, step, { footprint: fp, stateHash: hash });
      if (i === PRUNE) {
        end = 'pruned';
        break;
      }
      const t = enabled[i].thread;
      if (t === 'A' && pos[t] === 0 && space.draw > 1) d = dfs.chooseData({ label: 'A:draw', n: space.draw, fault: false });
      if (space.writes(t, pos[t])) x = t;
      pos[t]++;
      order.push(t);
    }
    if (end === 'quiescent') leaves.push({ order: order.join(''), x, d });
    const stateHash = () => JSON.stringify([pos, x, d]);
    if (dfs.backtrack(end, { stateHash }) === null) return { leaves, dfs };
  }
  throw new Error('search did not end');
}

const binomial = (n: number, k: number): number => (k === 0 ? 1 : (binomial(n - 1, k - 1) * n) / k);

describe('dfs strategy', () => {
  it('takes every branch: all interleavings and every data outcome, without reduction', () => {
    const space: Space = { threads: ['A', 'B'], len: 3, writes: () => false, draw: 3 };
    const { leaves } = searchAll(space, { sleepSets: false, stateMatching: false });
    const orders = new Set(leaves.map((l) => `${l.order}/${l.d}`));
    expect(orders.size).toBe(binomial(6, 3) * 3);
    expect(leaves.length).toBe(orders.size);
  });

  it('with the visited set, visits every reachable state once and still reaches every data outcome', () => {
    const space: Space = { threads: ['A', 'B', 'C'], len: 2, writes: () => false, draw: 2 };
    const { leaves, dfs } = searchAll(space, { sleepSets: false, stateMatching: true });
    // States: positions (3^3 = 27) times the draw (unset until A's first step, then 0 or 1).
    const reachable = 9 + 2 * 18;
    expect(dfs.stats.states).toBe(reachable);
    expect(new Set(leaves.map((l) => l.d))).toEqual(new Set([0, 1]));
    expect(dfs.exhausted).toBe(true);
  });

  it('sleep sets explore one order of independent steps, and every order of dependent ones', () => {
    const indep = searchAll({ threads: ['A', 'B', 'C'], len: 2, writes: () => false, draw: 1 }, { sleepSets: true, stateMatching: false });
    expect(indep.leaves.length).toBe(1);
    // Every thread's last step writes x: the final value tells which ran last; all three must be reached.
    const dep = searchAll({ threads: ['A', 'B', 'C'], len: 2, writes: (_t, i) => i === 1, draw: 1 }, { sleepSets: true, stateMatching: true });
    expect(new Set(dep.leaves.map((l) => l.x))).toEqual(new Set(['A', 'B', 'C']));
    // ...and every state reachable without reduction is still visited (sleep sets prune steps, not states).
    const full = searchAll({ threads: ['A', 'B', 'C'], len: 2, writes: (_t, i) => i === 1, draw: 1 }, { sleepSets: false, stateMatching: true });
    expect(dep.dfs.stats.states).toBe(full.dfs.stats.states);
    expect(dep.dfs.stats.executions).toBeLessThan(full.dfs.stats.executions);
  });

  it('a shard explores a disjoint part: the shards together visit the unsharded states', () => {
    const space: Space = { threads: ['A', 'B', 'C'], len: 2, writes: (_t, i) => i === 1, draw: 2 };
    const all = searchAll(space, {}).dfs.stateHashes();
    const parts = [0, 1, 2].map((index) => searchAll(space, { shard: { index, count: 3, depth: 2 } }).dfs);
    expect(new Set(parts.flatMap((p) => p.stateHashes()))).toEqual(new Set(all));
    expect(parts.every((p) => p.stats.otherShards > 0)).toBe(true);
  });
});

describe('dfs on iopf (tiny configuration)', () => {
  const tiny = { devices: 1, groupsPerDevice: 1, maxGroupSize: 2, prqDepth: 2, kworkers: 2, pages: 1, unplugRate: 0, mmOps: 0, iommufdDevices: 0, rebinds: 0, unboundRate: 0, unrecoverableRate: 0, privDataRate: 0 };
  const base = { scenario: iopfScenario, runs: 1, seed: 1, strategy: 'dfs' as const, depth: 3, maxSteps: 20000 };

  it('exhausts the fixed model with no violation', () => {
    const r = exploreDfs({ ...base, params: iopfDefaults(tiny), bug: null });
    expect(r.firstViolation).toBeNull();
    expect(r.search!.exhausted).toBe(true);
    expect(r.search!.states).toBeGreaterThan(10);
  });

  it('finds partial-leak-on-alloc-failure and shrinks it to a schedule that replays', () => {
    const bug = 'partial-leak-on-alloc-failure';
    const r = exploreDfs({ ...base, params: iopfDefaults(tiny), bug });
    expect(r.firstViolation?.monitor).toMatch(/no-stuck-partial|group-integrity/);
    expect(r.search!.exhausted).toBe(false);
  });
});
