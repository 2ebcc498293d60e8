/** Random walk: every enabled step equally likely at every step; data drawn from the run's own stream. */
import { Prng } from '../prng.ts';
import type { Choice, DataDraw, ExecutionInfo, Strategy } from './strategy.ts';
import { drawData } from './data.ts';

export class RandomWalk implements Strategy {
  readonly name = 'random';
  private prng = new Prng(0, 1);
  private data = new Prng(0, 2);

  newExecution(e: ExecutionInfo): void {
    this.prng = new Prng(e.seed, 1);
    this.data = new Prng(e.seed, 2);
  }

  choose(enabled: readonly Choice[]): number {
    return this.prng.int(enabled.length);
  }

  chooseData(d: DataDraw): number {
    return drawData(this.data, d);
  }
}
