import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../core/clock.ts';
import { Bus } from '../../core/bus.ts';

describe('VirtualClock', () => {
  it('fires the earliest timer first and breaks ties by order of setting', () => {
    const c = new VirtualClock();
    const fired: string[] = [];
    c.set('b', 'b5', 5, { type: 'B5' });
    c.set('a', 'a2', 2, { type: 'A2' });
    c.set('a', 'a5', 5, { type: 'A5' });
    c.set('b', 'never', 1, { type: 'NEVER' });
    c.cancel('b', 'never');
    while (c.nextTimer()) fired.push(c.fire(c.nextTimer()!.seq).id);
    expect(fired).toEqual(['a2', 'b5', 'a5']);
    expect(c.now).toBe(5);
  });

  it('snapshots and restores its timers, and hashes only their firing order', () => {
    const c = new VirtualClock();
    c.set('a', 'x', 3, { type: 'X' });
    const s = c.snapshot();
    c.fire(c.nextTimer()!.seq);
    expect(c.pending).toBe(0);
    c.restore(s);
    expect(c.nextTimer()?.id).toBe('x');
    const later = new VirtualClock();
    later.tick();
    later.tick();
    later.set('a', 'x', 3, { type: 'X' });
    expect(later.canonical()).toEqual(c.canonical());
  });
});

describe('Bus', () => {
  it('keeps each channel FIFO and offers only channel heads', () => {
    const bus = new Bus();
    bus.send('a', 'b', 'X', { n: 1 }, null);
    bus.send('a', 'b', 'X', { n: 2 }, null);
    bus.send('c', 'b', 'Y', {}, 1);
    const heads = () => bus.openChannels().map((ch) => ch.queue[0].id);
    expect(heads()).toEqual([1, 3]);
    expect(bus.take('a', 'b').payload).toEqual({ n: 1 });
    expect(heads()).toEqual([2, 3]);
    expect(bus.pending).toBe(2);
    expect(() => bus.take('x', 'y')).toThrow(/empty/);
  });

  it('restores a snapshot exactly, and hashes without ids or the order channels were first used', () => {
    const a = new Bus();
    a.send('a', 'b', 'X', { n: 1 }, null);
    a.send('c', 'b', 'Y', {}, 1);
    const s = a.snapshot();
    a.take('a', 'b');
    a.send('a', 'b', 'Z', {}, null);
    a.restore(s);
    expect(a.undelivered().map((e) => [e.id, e.type])).toEqual([
      [1, 'X'],
      [2, 'Y'],
    ]);
    expect(a.send('q', 'r', 'W', {}, null).id).toBe(3);
    const b = new Bus();
    b.send('q', 'r', 'W', {}, null);
    b.send('c', 'b', 'Y', {}, 7);
    b.send('a', 'b', 'X', { n: 1 }, null);
    expect(b.canonical()).toEqual(a.canonical());
  });
});
