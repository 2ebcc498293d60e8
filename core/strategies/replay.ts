/**
 * Replays a recorded list of choices. Strict mode fails at the first step where the recorded
 * key is not enabled, saying which step, what it expected and what was enabled. Lenient mode
 * (used by shrinking) takes the recorded key when enabled and otherwise the first enabled step.
 */
import type { Choice, Strategy } from './strategy.ts';

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

export class Replay implements Strategy {
  readonly name = 'replay';
  private cursor = 0;

  constructor(
    private readonly choices: readonly string[],
    private readonly lenient = false,
  ) {}

  choose(enabled: readonly Choice[], step: number): number {
    if (this.cursor >= this.choices.length) {
      if (this.lenient) return 0;
      throw new ScheduleDivergence(step, '(end of schedule)', enabled.map((e) => e.key));
    }
    const want = this.choices[this.cursor];
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

  clone(): Strategy {
    const r = new Replay(this.choices, this.lenient);
    r.cursor = this.cursor;
    return r;
  }
}
