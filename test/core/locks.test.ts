import { describe, expect, it } from 'vitest';
import { LockTable } from '../../core/locks.ts';

describe('LockTable', () => {
  it('blocks a writer while held and allows many readers', () => {
    const t = new LockTable();
    t.declare('mmap_lock', 'rwsem');
    t.acquire('mmap_lock', 'kw0', 'fault', 'read');
    t.acquire('mmap_lock', 'kw1', 'fault', 'read');
    expect(t.canTake('mmap_lock', 'write')).toBe(false);
    expect(t.canTake('mmap_lock', 'read')).toBe(true);
    t.release('mmap_lock', 'kw0', 'fault');
    t.release('mmap_lock', 'kw1', 'fault');
    expect(t.canTake('mmap_lock', 'write')).toBe(true);
    t.acquire('mmap_lock', 'proc', 'munmap', 'write');
    expect(t.canTake('mmap_lock', 'read')).toBe(false);
    expect(t.holders()).toEqual(['mmap_lock:proc']);
  });

  it('refuses to take a held lock and to release one not held', () => {
    const t = new LockTable();
    t.declare('a', 'mutex');
    t.acquire('a', 'x', 'p');
    expect(() => t.acquire('a', 'y', 'q')).toThrow(/held by x/);
    expect(() => t.release('a', 'y', 'q')).toThrow(/does not hold/);
  });

  it('records each acquire and release with the lock kind, path and holder', () => {
    const t = new LockTable();
    t.declare('q', 'mutex');
    t.acquire('q', 'a', 'remove_device');
    t.release('q', 'a', 'remove_device');
    expect(t.drainEvents()).toEqual([
      { op: 'acquire', lock: 'q', kind: 'mutex', mode: 'write', by: 'a', path: 'remove_device' },
      { op: 'release', lock: 'q', kind: 'mutex', mode: 'write', by: 'a', path: 'remove_device' },
    ]);
    expect(t.drainEvents()).toEqual([]);
  });
});
