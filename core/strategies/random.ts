/** Random walk: every enabled step equally likely at every step. */
import { Prng } from '../prng.ts';
import type { Choice, Strategy } from './strategy.ts';

export class RandomWalk implements Strategy {
  readonly name = 'random';
  private constructor(private readonly prng: Prng) {}

  static create(seed: number): RandomWalk {
    return new RandomWalk(new Prng(seed, 1));
  }

  choose(enabled: readonly Choice[]): number {
    return this.prng.int(enabled.length);
  }

  clone(): Strategy {
    const p = Object.assign(Object.create(Prng.prototype), this.prng) as Prng;
    return new RandomWalk(p);
  }
}
