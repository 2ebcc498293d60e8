/**
 * PCT (Burckhardt et al., ASPLOS 2010): each thread gets a random priority above d; the highest
 * priority enabled thread runs; at d-1 random change points (among the first k steps) the
 * running thread drops to priority 1..d-1. A bug of depth d is found with probability at least
 * 1/(n * k^(d-1)) per run, for n threads and k steps.
 */
import { Prng } from '../prng.ts';
import type { Choice, Strategy, StrategyOptions } from './strategy.ts';

export class Pct implements Strategy {
  readonly name = 'pct';

  private constructor(
    private readonly prng: Prng,
    private readonly depth: number,
    /** step index -> new priority of the thread that runs at that step */
    private readonly changePoints: Map<number, number>,
    private readonly priority: Map<string, number>,
  ) {}

  static create(seed: number, opts: StrategyOptions): Pct {
    const prng = new Prng(seed, 1);
    const k = Math.max(1, opts.steps);
    const changePoints = new Map<number, number>();
    for (let j = 1; j < opts.depth; j++) {
      let at = prng.int(k);
      while (changePoints.has(at) && changePoints.size < k) at = (at + 1) % k;
      changePoints.set(at, opts.depth - j);
    }
    return new Pct(prng, opts.depth, changePoints, new Map());
  }

  choose(enabled: readonly Choice[], step: number): number {
    let best = -1;
    let bestPrio = -Infinity;
    let ties = 0;
    for (let i = 0; i < enabled.length; i++) {
      const p = this.priorityOf(enabled[i].thread);
      if (p > bestPrio) {
        bestPrio = p;
        best = i;
        ties = 1;
      } else if (p === bestPrio) {
        // Several steps of one thread (e.g. two channels into the same actor): pick uniformly.
        ties++;
        if (this.prng.int(ties) === 0) best = i;
      }
    }
    const drop = this.changePoints.get(step);
    if (drop !== undefined) this.priority.set(enabled[best].thread, drop);
    return best;
  }

  clone(): Strategy {
    const p = Object.assign(Object.create(Prng.prototype), this.prng) as Prng;
    return new Pct(p, this.depth, new Map(this.changePoints), new Map(this.priority));
  }

  private priorityOf(thread: string): number {
    let p = this.priority.get(thread);
    if (p === undefined) {
      // A thread seen for the first time gets a fresh random priority above every change point.
      p = this.depth + this.prng.next();
      this.priority.set(thread, p);
    }
    return p;
  }
}

/** The PCT guarantee for n threads, k steps and depth d. */
export function pctBound(n: number, k: number, d: number): number {
  return 1 / (n * Math.pow(k, d - 1));
}
