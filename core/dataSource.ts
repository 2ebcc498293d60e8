/**
 * Data choices (which address a device touches, whether an allocation fails) come from a
 * seeded stream separate from scheduling, and every draw is recorded under a label so a
 * schedule carries them. On replay the recorded values are returned in order; a label that
 * no longer matches is a divergence, reported with its index.
 */
import { Prng } from './prng.ts';

export interface DataChoice {
  /** What was decided, e.g. "alloc:iopf.dev0:group" or "workload:dev1:addr". */
  label: string;
  value: number;
}

export class DataDivergence extends Error {
  constructor(
    readonly index: number,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`data choice ${index}: the schedule recorded "${expected}" but the model asked for "${actual}"`);
  }
}

export class DataSource {
  readonly recorded: DataChoice[] = [];
  private readonly prng: Prng;
  private cursor = 0;

  /**
   * @param seed the run seed
   * @param replay recorded choices to return instead of drawing
   * @param lenient on replay, draw fresh values when the recorded ones run out or do not match (shrinking)
   */
  constructor(
    seed: number,
    private readonly replay?: readonly DataChoice[],
    private readonly lenient = false,
  ) {
    this.prng = new Prng(seed, 2);
  }

  /** Integer in [0, n), labelled. */
  int(label: string, n: number): number {
    return this.take(label, () => this.prng.int(n), (v) => Number.isInteger(v) && v >= 0 && v < n);
  }

  /** True with probability p (never when p <= 0). */
  chance(label: string, p: number): boolean {
    if (p <= 0) return false;
    return this.take(label, () => (this.prng.next() < p ? 1 : 0), (v) => v === 0 || v === 1) === 1;
  }

  private take(label: string, draw: () => number, valid: (v: number) => boolean): number {
    let value: number;
    if (this.replay && this.cursor < this.replay.length) {
      const rec = this.replay[this.cursor];
      if (rec.label === label && valid(rec.value)) {
        value = rec.value;
      } else if (this.lenient) {
        value = draw();
      } else {
        throw new DataDivergence(this.cursor, rec.label, label);
      }
    } else if (this.replay && !this.lenient) {
      throw new DataDivergence(this.cursor, '(end of recorded data choices)', label);
    } else {
      value = draw();
    }
    this.cursor++;
    this.recorded.push({ label, value });
    return value;
  }
}
