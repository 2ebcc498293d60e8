/**
 * Replays a recorded schedule: its step keys and its data choices. Strict mode fails at the first
 * step whose recorded key is not enabled (or the first data choice whose label differs), saying
 * which step, what it expected and what was offered. Lenient mode (shrinking) takes the recorded
 * key when enabled and otherwise the first enabled step, and matches data choices by label (see
 * lenientData).
 */
import { Prng } from '../prng.ts';
import type { DataChoice } from '../dataSource.ts';
import type { Schedule } from '../schedule.ts';
import { drawData } from './data.ts';
import type { Choice, DataDraw, ExecutionInfo, Strategy } from './strategy.ts';

export class ScheduleDivergence extends Error {
  constructor(
    readonly step: number,
    readonly expected: string,
    readonly enabled: string[],
  ) {
    super(
      expected === '(end of schedule)'
        ? `replay diverged at step ${step}: the schedule ended but the model still has ${enabled.length} enabled step(s): ${enabled.join(', ')}`
        : `replay diverged at step ${step}: the schedule chose "${expected}" but the model offers ${enabled.length ? enabled.join(', ') : 'no step'}`,
    );
  }
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

export class Replay implements Strategy {
  readonly name = 'replay';
  private cursor = 0;
  private dataCursor = 0;
  private fresh: Prng;
  /** Lenient mode: recorded data choices already handed out. */
  private used = new Set<number>();

  constructor(
    private readonly schedule: Pick<Schedule, 'seed' | 'choices' | 'data'>,
    private readonly lenient = false,
  ) {
    this.fresh = new Prng(schedule.seed, 2);
  }

  newExecution(_e?: ExecutionInfo): void {
    this.cursor = 0;
    this.dataCursor = 0;
    this.used = new Set();
    this.fresh = new Prng(this.schedule.seed, 2);
  }

  /** Where the replay is (to go back to after a world restore). */
  position(): { cursor: number; dataCursor: number; used: number[] } {
    return { cursor: this.cursor, dataCursor: this.dataCursor, used: [...this.used] };
  }

  seek(p: { cursor: number; dataCursor: number; used: number[] }): void {
    this.cursor = p.cursor;
    this.dataCursor = p.dataCursor;
    this.used = new Set(p.used);
  }

  choose(enabled: readonly Choice[], step: number): number {
    const choices = this.schedule.choices;
    if (this.cursor >= choices.length) {
      if (this.lenient) return 0;
      throw new ScheduleDivergence(step, '(end of schedule)', enabled.map((e) => e.key));
    }
    const want = choices[this.cursor];
    const i = enabled.findIndex((e) => e.key === want);
    if (i >= 0) {
      this.cursor++;
      return i;
    }
    if (this.lenient) {
      this.cursor++;
      return 0;
    }
    throw new ScheduleDivergence(step, want, enabled.map((e) => e.key));
  }

  chooseData(d: DataDraw): number {
    if (this.lenient) return this.lenientData(d);
    const data = this.schedule.data;
    const at = this.dataCursor++;
    if (at >= data.length) throw new DataDivergence(at, '(end of recorded data choices)', d.label);
    const rec: DataChoice = data[at];
    if (rec.label === d.label && fits(rec.value, d)) return rec.value;
    throw new DataDivergence(at, rec.label, d.label);
  }

  /**
   * Shrinking: the first recorded choice with this label not used yet (steps removed earlier may
   * have removed other draws, so positions shift but labels still match); none left: no fault for
   * a fault draw (a smaller repro never gains a fault), a fresh draw otherwise.
   */
  private lenientData(d: DataDraw): number {
    const data = this.schedule.data;
    for (let i = this.dataCursor; i < data.length; i++) {
      if (this.used.has(i) || data[i].label !== d.label || !fits(data[i].value, d)) continue;
      this.used.add(i);
      while (this.used.has(this.dataCursor)) this.dataCursor++;
      return data[i].value;
    }
    return d.fault ? 0 : drawData(this.fresh, d);
  }
}

function fits(v: number, d: DataDraw): boolean {
  return Number.isInteger(v) && v >= 0 && v < d.n;
}
