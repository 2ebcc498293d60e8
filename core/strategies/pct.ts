/**
 * PCT (Burckhardt et al., ASPLOS 2010): each thread gets a random priority above d; the highest
 * priority enabled thread runs; at d-1 random change points (among the first k steps) the running
 * thread drops to priority 1..d-1. A bug of depth d is found with probability at least
 * 1/(n * k^(d-1)) per run, for n threads and k steps. Data choices come from the run's data stream.
 */
import { Prng } from '../prng.ts';
import { drawData } from './data.ts';
import type { Choice, DataDraw, ExecutionInfo, Strategy, StrategyOptions } from './strategy.ts';

export class Pct implements Strategy {
  readonly name = 'pct';
  private prng = new Prng(0, 1);
  private data = new Prng(0, 2);
  /** step index -> new priority of the thread that runs at that step */
  private changePoints = new Map<number, number>();
  private priority = new Map<string, number>();

  constructor(private readonly opts: StrategyOptions) {}

  newExecution(e: ExecutionInfo): void {
    this.prng = new Prng(e.seed, 1);
    this.data = new Prng(e.seed, 2);
    this.priority = new Map();
    this.changePoints = new Map();
    const k = Math.max(1, this.opts.steps);
    for (let j = 1; j < this.opts.depth; j++) {
      let at = this.prng.int(k);
      while (this.changePoints.has(at) && this.changePoints.size < k) at = (at + 1) % k;
      this.changePoints.set(at, this.opts.depth - j);
    }
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

  chooseData(d: DataDraw): number {
    return drawData(this.data, d);
  }

  private priorityOf(thread: string): number {
    let p = this.priority.get(thread);
    if (p === undefined) {
      // A thread seen for the first time gets a fresh random priority above every change point.
      p = this.opts.depth + this.prng.next();
      this.priority.set(thread, p);
    }
    return p;
  }
}

/** The PCT guarantee for n threads, k steps and depth d. */
export function pctBound(n: number, k: number, d: number): number {
  return 1 / (n * Math.pow(k, d - 1));
}
