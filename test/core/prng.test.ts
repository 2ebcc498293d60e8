import { describe, expect, it } from 'vitest';
import { Prng, runSeed } from '../../core/prng.ts';
import { type DataChoice, DataSource } from '../../core/dataSource.ts';
import { RandomWalk } from '../../core/strategies/random.ts';
import { DataDivergence, Replay } from '../../core/strategies/replay.ts';

describe('Prng', () => {
  it('is a pure function of seed and stream', () => {
    const a = new Prng(42, 1);
    const b = new Prng(42, 1);
    const xs = Array.from({ length: 50 }, () => a.nextU32());
    expect(Array.from({ length: 50 }, () => b.nextU32())).toEqual(xs);
    expect(new Prng(42, 2).nextU32()).not.toBe(xs[0]);
    expect(new Prng(43, 1).nextU32()).not.toBe(xs[0]);
  });

  it('draws integers in range and roughly uniformly', () => {
    const p = new Prng(7);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 8000; i++) counts[p.int(4)]++;
    for (const c of counts) expect(c).toBeGreaterThan(1700);
    expect(() => p.int(0)).toThrow(RangeError);
  });

  it('derives run seeds independent of batching', () => {
    expect(runSeed(1, 5)).toBe(runSeed(1, 5));
    expect(runSeed(1, 5)).not.toBe(runSeed(1, 6));
  });
});

describe('DataSource', () => {
  const seeded = (seed: number) => {
    const r = new RandomWalk();
    r.newExecution({ run: 0, seed });
    return new DataSource(r);
  };
  const replaying = (seed: number, data: DataChoice[], lenient = false) => {
    const r = new Replay({ seed, choices: [], data }, lenient);
    r.newExecution();
    return new DataSource(r);
  };

  it('records every draw and replays it', () => {
    const d = seeded(9);
    const v = [d.int('a', 10), d.chance('b', 0.5) ? 1 : 0, d.int('c', 3)];
    const r = replaying(123, d.recorded);
    expect([r.int('a', 10), r.chance('b', 0.5) ? 1 : 0, r.int('c', 3)]).toEqual(v);
  });

  it('marks fault draws, so shrinking can find them in any system', () => {
    const d = seeded(3);
    d.fault('kzalloc:x', 1);
    d.chance('workload:y', 1);
    expect(d.recorded).toEqual([
      { label: 'kzalloc:x', value: 1, fault: true },
      { label: 'workload:y', value: 1 },
    ]);
  });

  it('reports where a strict replay diverges', () => {
    const d = seeded(9);
    d.int('a', 10);
    const r = replaying(9, d.recorded);
    expect(() => r.int('other', 10)).toThrow(DataDivergence);
    expect(() => replaying(9, d.recorded).int('a', 10) + replaying(9, []).int('x', 2)).toThrow(/end of recorded/);
  });

  it('lenient replay draws fresh values where the record does not fit', () => {
    const r = replaying(9, [{ label: 'a', value: 1 }], true);
    expect(r.int('b', 4)).toBeLessThan(4);
    expect(r.recorded[0].label).toBe('b');
  });

  it('never draws a chance of zero', () => {
    const d = seeded(1);
    for (let i = 0; i < 100; i++) expect(d.chance('x', 0)).toBe(false);
    expect(d.recorded).toEqual([]);
  });
});
