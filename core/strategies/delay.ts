/**
 * Delay bounding (Emmi, Qadeer and Rakamarić, POPL 2011), sampled: a deterministic default
 * scheduler that a run may overrule at most K times (`--delays K`). The default keeps running the
 * thread that ran last while it has an enabled step, and otherwise takes the next thread in a
 * fixed cyclic order (thread names sorted); a delay skips the thread the default would run and
 * takes the next one in that order. Each run places its K delays at random steps among the first k
 * (the scenario's step estimate; several may fall on one step and skip several threads), so a bug
 * that needs K deviations from the default order is found with probability at least about
 * 1/(k^K t^K) per run for t threads. Data choices come from the run's data stream.
 */
import { Prng } from '../prng.ts';
import { drawData } from './data.ts';
import type { Choice, DataDraw, ExecutionInfo, Strategy, StrategyOptions } from './strategy.ts';

/** K when none is given. */
export const DEFAULT_DELAYS = 2;

export class DelayBounded implements Strategy {
  readonly name = 'delay';
  private prng = new Prng(0, 1);
  private data = new Prng(0, 2);
  /** step -> how many delays fall on it */
  private delaysAt = new Map<number, number>();
  private last: string | null = null;
  /** Steps whose choice differed from the default scheduler's (at most K). */
  deviations = 0;

  constructor(private readonly opts: StrategyOptions) {}

  newExecution(e: ExecutionInfo): void {
    this.prng = new Prng(e.seed, 1);
    this.data = new Prng(e.seed, 2);
    this.delaysAt = new Map();
    this.last = null;
    this.deviations = 0;
    const k = Math.max(1, this.opts.steps);
    for (let j = 0; j < (this.opts.delays ?? DEFAULT_DELAYS); j++) {
      const at = this.prng.int(k);
      this.delaysAt.set(at, (this.delaysAt.get(at) ?? 0) + 1);
    }
  }

  choose(enabled: readonly Choice[], step: number): number {
    const threads = [...new Set(enabled.map((c) => c.thread))].sort();
    let start: number;
    if (this.last !== null && threads.includes(this.last)) start = threads.indexOf(this.last);
    else {
      // The next thread after the last one in the cyclic order (the first one at the start).
      const after = this.last === null ? -1 : threads.findIndex((t) => t > this.last!);
      start = after < 0 ? 0 : after;
    }
    const d = this.delaysAt.get(step) ?? 0;
    const pick = threads[(start + d) % threads.length];
    if (pick !== threads[start]) this.deviations++;
    this.last = pick;
    return enabled.findIndex((c) => c.thread === pick);
  }

  chooseData(d: DataDraw): number {
    return drawData(this.data, d);
  }
}
