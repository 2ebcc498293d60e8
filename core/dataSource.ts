/**
 * Data choices (which address a device touches, whether an allocation fails) are decided by the
 * strategy, from a seeded stream separate from scheduling, and every one is recorded with its label
 * and, when it injects a fault, a `fault` flag, so a schedule carries them and shrinking can switch
 * faults off in any system.
 */
import type { DataPort } from './model/kind.ts';
import { RandomWalk } from './strategies/random.ts';
import type { Strategy } from './strategies/strategy.ts';

export interface DataChoice {
  /** What was decided, e.g. "kzalloc:iopf.dev0:group" or "workload:dev1:page". */
  label: string;
  value: number;
  /** Set when value 1 injects a fault. */
  fault?: true;
}

export class DataSource implements DataPort {
  recorded: DataChoice[] = [];

  constructor(private readonly strategy: Strategy) {}

  int(label: string, n: number): number {
    if (!(n > 0)) throw new RangeError(`data choice ${label}: needs n > 0, got ${n}`);
    const value = this.strategy.chooseData({ label, n, fault: false });
    this.recorded.push({ label, value });
    return value;
  }

  chance(label: string, p: number): boolean {
    return this.yesNo(label, p, false);
  }

  fault(label: string, p: number): boolean {
    return this.yesNo(label, p, true);
  }

  /** How many choices were made (the world's snapshot keeps it; restore truncates to it). */
  get length(): number {
    return this.recorded.length;
  }

  truncate(n: number): void {
    this.recorded.length = n;
  }

  /** Data drawn from a seed alone (the random walk's data stream), outside any exploration. */
  static seeded(seed: number): DataSource {
    const s = new RandomWalk();
    s.newExecution({ run: 0, seed });
    return new DataSource(s);
  }

  private yesNo(label: string, p: number, fault: boolean): boolean {
    if (p <= 0) return false;
    const value = this.strategy.chooseData({ label, n: 2, p, fault });
    this.recorded.push(fault ? { label, value, fault } : { label, value });
    return value === 1;
  }
}

export const seededData = (seed: number): DataSource => DataSource.seeded(seed);
