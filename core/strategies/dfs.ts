/**
 * Bounded exhaustive search (`--strategy dfs`): a depth-first walk of the tree of every scheduling
 * choice and every data choice (each labelled draw branches on each of its outcomes: a yes/no
 * draw's probability only says that both exist), with
 * - sleep sets over the step footprints (Godefroid 1996): after the subtree of step t is explored
 *   from a state, t sleeps in the subtrees of its later siblings for as long as only steps
 *   independent of it run (`dependent` over actor, locks and shared state), so one order of each
 *   pair of independent steps is explored, not both;
 * - a visited set of state hashes (the world's canonical hash with the monitors' state), kept with
 *   the sleep set each state was explored with: a state seen again is pruned when it was explored
 *   with no more asleep than now; otherwise only the steps asleep then and awake now are explored
 *   (Godefroid's sleep sets with state caching, which still visit every reachable state).
 *
 * The strategy keeps the current path (one node per choice) across executions; the search driver
 * (core/search.ts) runs one execution after another, restoring the world saved before the step
 * where `backtrack` says the next execution departs. The tree can be cut into shards: nodes at
 * depth `shard.depth` are dealt out to the shards in order (every shard walks the same top of the
 * tree, without pruning by state there), and each shard explores its own subtrees.
 */
import { dependent } from '../world.ts';
import type { Choice, ChoiceContext, ChoiceFootprint, DataDraw, ExecutionEnd, ExecutionInfo, Strategy } from './strategy.ts';
import { PRUNE } from './strategy.ts';

export interface DfsOptions {
  /** Partial-order reduction by sleep sets (default on). */
  sleepSets?: boolean;
  /** Prune states seen before (default on). */
  stateMatching?: boolean;
  /** Stop after this many distinct states (the space is then not exhausted). */
  maxStates?: number;
  /** This shard's subtrees: the nodes at step `depth` numbered in DFS order, `index` of `count`. */
  shard?: { index: number; count: number; depth: number };
  /** Record the visited state hashes (for a digest and for merging shards). Default on. */
  keepHashes?: boolean;
}

interface SchedNode {
  kind: 's';
  step: number;
  keys: string[];
  fps: ChoiceFootprint[] | null;
  /** The indices of `keys` to explore from here, in order; `pos` is the current one. */
  order: number[];
  pos: number;
  /** Asleep on entry (key -> footprint), plus steps explored from this state on an earlier visit. */
  sleep: Map<string, ChoiceFootprint>;
  done: number[];
}

interface DataNode {
  kind: 'd';
  step: number;
  label: string;
  n: number;
  cur: number;
}

type Node = SchedNode | DataNode;

export interface DfsStats {
  /** Distinct states visited (by hash), terminal states included. */
  states: number;
  /** Executions (paths from the root to a leaf: quiescence, the step bound, or a pruned state). */
  executions: number;
  /** Deepest step reached. */
  maxDepth: number;
  /** Executions ended at a state already explored. */
  revisits: number;
  /** Executions ended because every enabled step was asleep. */
  sleepBlocked: number;
  /** Executions cut by the step bound. */
  bounded: number;
  /** True when the state budget stopped the search. */
  budgetHit: boolean;
  /** Subtrees left to other shards. */
  otherShards: number;
}

export class Dfs implements Strategy {
  readonly name = 'dfs';
  readonly stats: DfsStats = { states: 0, executions: 0, maxDepth: 0, revisits: 0, sleepBlocked: 0, bounded: 0, budgetHit: false, otherShards: 0 };
  private path: Node[] = [];
  private cursor = 0;
  /** The step whose choices are being made (-1: building the world). */
  private step = -1;
  /** The sleep set the next new scheduling node starts with. */
  private pendingSleep = new Map<string, ChoiceFootprint>();
  private readonly visited = new Map<string, Set<string>>();
  /** Nodes reached at the shard depth so far (DFS order). */
  private frontier = 0;
  private readonly o: Required<Omit<DfsOptions, 'shard' | 'maxStates'>> & DfsOptions;

  constructor(opts: DfsOptions = {}) {
    this.o = { sleepSets: true, stateMatching: true, keepHashes: true, ...opts };
  }

  /** The hashes of every state visited (empty with keepHashes off). */
  stateHashes(): string[] {
    return [...this.visited.keys()];
  }

  /** Nothing was cut: every execution ended at quiescence or at a state explored elsewhere. */
  get exhausted(): boolean {
    return !this.stats.budgetHit && this.stats.bounded === 0;
  }

  newExecution(e: ExecutionInfo): void {
    this.step = -1;
    const from = e.from ?? -1;
    let i = 0;
    while (i < this.path.length && this.path[i].step < from) i++;
    this.cursor = i;
    if (from <= 0 || this.cursor === 0) this.pendingSleep = new Map();
  }

  choose(enabled: readonly Choice[], step: number, ctx?: ChoiceContext): number {
    this.step = step;
    if (step > this.stats.maxDepth) this.stats.maxDepth = step;
    if (this.cursor < this.path.length) {
      const node = this.path[this.cursor++];
      if (node.kind !== 's' || node.step !== step) throw new Error(`dfs: the replayed path expected a ${node.kind === 's' ? 'step' : 'data choice'} at step ${node.step}, the model is at step ${step}`);
      const i = node.order[node.pos];
      if (enabled[i]?.key !== node.keys[i]) throw new Error(`dfs: replaying step ${step}: expected ${node.keys[i]}, the model offers ${enabled.map((e) => e.key).join(', ')} (the model is not deterministic)`);
      this.pendingSleep = this.childSleep(node, i);
      return i;
    }
    if (!ctx) throw new Error('dfs needs the search driver (a choice context)');
    const keys = enabled.map((e) => e.key);
    const sleep = this.pendingSleep;
    const top = this.o.shard !== undefined && step < this.o.shard.depth;
    if (this.o.shard && step === this.o.shard.depth) {
      // A subtree root: this shard's, or another's (then not even its state is counted here).
      if (this.frontier++ % this.o.shard.count !== this.o.shard.index) {
        this.stats.otherShards++;
        return PRUNE;
      }
    }
    let order: number[] = [];
    const done: number[] = [];
    if (this.o.stateMatching || this.o.keepHashes) {
      if (this.o.maxStates !== undefined && this.stats.states >= this.o.maxStates) {
        this.stats.budgetHit = true;
        return PRUNE;
      }
      const h = ctx.stateHash();
      const seen = this.visited.get(h);
      if (!seen) {
        this.visited.set(h, new Set(sleep.keys()));
        this.stats.states++;
        for (let i = 0; i < keys.length; i++) if (!sleep.has(keys[i])) order.push(i);
      } else if (!this.o.stateMatching || top) {
        for (let i = 0; i < keys.length; i++) if (!sleep.has(keys[i])) order.push(i);
      } else {
        // Explored before with `seen` asleep: what slept then and is awake now is left to do.
        for (let i = 0; i < keys.length; i++) {
          if (seen.has(keys[i]) && !sleep.has(keys[i])) order.push(i);
          else if (!seen.has(keys[i]) && !sleep.has(keys[i])) done.push(i);
        }
        if (order.length === 0) {
          this.stats.revisits++;
          return PRUNE;
        }
        this.visited.set(h, new Set([...seen].filter((k) => sleep.has(k))));
      }
    } else {
      for (let i = 0; i < keys.length; i++) if (!sleep.has(keys[i])) order.push(i);
    }
    if (order.length === 0) {
      this.stats.sleepBlocked++;
      return PRUNE;
    }
    const fps = this.o.sleepSets ? enabled.map((_, i) => ctx.footprint(i)) : null;
    const node: SchedNode = { kind: 's', step, keys, fps, order, pos: 0, sleep, done };
    this.path.push(node);
    this.cursor = this.path.length;
    this.pendingSleep = this.childSleep(node, order[0]);
    return order[0];
  }

  chooseData(d: DataDraw): number {
    const n = d.n;
    if (this.cursor < this.path.length) {
      const node = this.path[this.cursor++];
      if (node.kind !== 'd' || node.label !== d.label || node.n !== n) {
        throw new Error(`dfs: replaying step ${this.step}: expected ${node.kind === 'd' ? `data choice ${node.label}` : 'a step'}, the model draws ${d.label} (the model is not deterministic)`);
      }
      return node.cur;
    }
    this.path.push({ kind: 'd', step: this.step, label: d.label, n, cur: 0 });
    this.cursor = this.path.length;
    return 0;
  }

  backtrack(end: ExecutionEnd, ctx?: Pick<ChoiceContext, 'stateHash'>): number | null {
    this.stats.executions++;
    if (end === 'bound') this.stats.bounded++;
    if (end === 'quiescent' && ctx && (this.o.stateMatching || this.o.keepHashes)) {
      const h = ctx.stateHash();
      if (!this.visited.has(h)) {
        this.visited.set(h, new Set());
        this.stats.states++;
      }
    }
    if (this.stats.budgetHit) return null;
    while (this.path.length > 0) {
      const node = this.path[this.path.length - 1];
      if (node.kind === 'd') {
        if (node.cur + 1 < node.n) {
          node.cur++;
          return node.step;
        }
      } else if (node.pos + 1 < node.order.length) {
        node.pos++;
        return node.step;
      }
      this.path.pop();
    }
    return null;
  }

  /** Asleep after taking `keys[i]` here: what slept or was explored here and is independent of it. */
  private childSleep(node: SchedNode, i: number): Map<string, ChoiceFootprint> {
    const out = new Map<string, ChoiceFootprint>();
    if (!node.fps) return out;
    const t = node.fps[i];
    for (const [k, fp] of node.sleep) if (!dependent(fp, t)) out.set(k, fp);
    const add = (j: number) => {
      if (!dependent(node.fps![j], t)) out.set(node.keys[j], node.fps![j]);
    };
    for (const j of node.done) add(j);
    for (let p = 0; p < node.pos; p++) add(node.order[p]);
    return out;
  }
}
