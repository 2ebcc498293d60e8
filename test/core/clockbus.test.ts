import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../core/clock.ts';
import { Bus } from '../../core/bus.ts';

describe('VirtualClock', () => {
  it('fires the earliest timer first and breaks ties by order of setting', () => {
    const c = new VirtualClock();
    const fired: string[] = [];
    const a = c.forActor('a');
    const b = c.forActor('b');
    b.setTimeout(() => fired.push('b5'), 5);
    a.setTimeout(() => fired.push('a2'), 2);
    a.setTimeout(() => fired.push('a5'), 5);
    const cancelled = b.setTimeout(() => fired.push('never'), 1);
    b.clearTimeout(cancelled);
    while (c.nextTimer()) c.fire(c.nextTimer()!.seq);
    expect(fired).toEqual(['a2', 'b5', 'a5']);
    expect(c.now).toBe(5);
  });
});

describe('Bus', () => {
  it('keeps each channel FIFO and offers only channel heads', () => {
    const bus = new Bus();
    const seen: number[] = [];
    bus.sent$.subscribe((e) => seen.push(e.id));
    bus.send('a', 'b', 'X', { n: 1 }, null);
    bus.send('a', 'b', 'X', { n: 2 }, null);
    bus.send('c', 'b', 'Y', {}, 1);
    expect(bus.heads().map((e) => e.id)).toEqual([1, 3]);
    expect(bus.take('a', 'b').payload).toEqual({ n: 1 });
    expect(bus.heads().map((e) => e.id)).toEqual([2, 3]);
    expect(bus.pending).toBe(2);
    expect(seen).toEqual([1, 2, 3]);
    expect(() => bus.take('x', 'y')).toThrow(/empty/);
  });
});
