/**
 * The two memory implementations (plain objects, SharedArrayBuffer) run the same algorithms: the
 * same operations give the same state and the same observations; handle_mm_fault gives the
 * same results over both. And the Atomics locks: exclusion, and a lock word left held by a dead
 * thread is reported, not waited on forever.
 */
import { describe, expect, it } from 'vitest';
import { LockTable } from '../../../core/locks.ts';
import type { Observation } from '../../../core/model/effects.ts';
import { type FaultOptions, startFault, step } from '../../../kernel/mm/handleMmFault.ts';
import { type MemoryPort, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../../kernel/mm/memory.ts';
import { PlainMemory } from '../../../kernel/mm/plainMemory.ts';
import { DeadThreadError, ptlLock, readLock, writeLock } from '../../../kernel/mm/shared/atomicLocks.ts';
import { MMAP, MmShared, PTL } from '../../../kernel/mm/shared/layout.ts';
import { SharedMemory } from '../../../kernel/mm/shared/sharedMemory.ts';

const BASE = 0x10000;
const RW = PROT_READ | PROT_WRITE;

function pair() {
  const plain = new PlainMemory(new LockTable(), [{ start: BASE, end: BASE + 8 * PAGE_SIZE, prot: RW }]);
  const sh = MmShared.create();
  sh.reset(plain.describe());
  const shared = new SharedMemory(sh, 0, { mirror: new LockTable() });
  (shared as unknown as { opts: { mirror: LockTable } }).opts.mirror.declare('mmap_lock', 'rwsem');
  return { plain, shared, sh };
}

function record(mem: MemoryPort): Observation[] {
  const out: Observation[] = [];
  mem.observer = (o) => out.push(o);
  return out;
}

function fault(mem: MemoryPort, who: string, addr: number, access: number, opts: FaultOptions = {}) {
  let st = startFault(addr, access);
  while (st.phase !== 'done') st = step(mem, st, who, opts);
  return st;
}

describe('PlainMemory and SharedMemory', () => {
  it('give the same state and observations for faults, munmap, mprotect and mmap', () => {
    const { plain, shared } = pair();
    const logs = [record(plain), record(shared)];
    for (const mem of [plain, shared]) {
      mem.announce();
      expect(fault(mem, 'kw0', BASE + 0x1000, RW).status).toBe('SUCCESS');
      expect(fault(mem, 'kw1', BASE + 0x1000, PROT_READ).status).toBe('SUCCESS');
      expect(fault(mem, 'kw0', BASE + 0x3000, PROT_READ).status).toBe('SUCCESS');
      mem.lockMmap('proc', 'write');
      mem.protect(BASE + 0x3000, 2 * PAGE_SIZE, PROT_READ);
      mem.unmap(BASE + 0x1000, PAGE_SIZE);
      mem.map(BASE + 0x6000, PAGE_SIZE, PROT_READ);
      mem.unlockMmap('proc');
      expect(fault(mem, 'kw1', BASE + 0x1000, PROT_READ).status).toBe('INVALID');
      expect(fault(mem, 'kw1', BASE + 0x3000, RW).status).toBe('INVALID');
      expect(fault(mem, 'kw1', BASE + 0x5000, RW).status).toBe('SUCCESS');
    }
    expect(shared.describe()).toEqual(plain.describe());
    expect(logs[1]).toEqual(logs[0]);
    expect(plain.describe().vmas.map((v) => [v.id, v.start.toString(16), v.end.toString(16), v.prot])).toEqual([
      [1, '10000', '11000', RW],
      [4, '12000', '13000', RW],
      [2, '13000', '15000', PROT_READ],
      [3, '15000', '16000', RW],
      [6, '16000', '17000', PROT_READ],
      [5, '17000', '18000', RW],
    ]);
    expect(logs[0].filter((o) => o.what === 'vma-free').map((o) => o.vma)).toEqual([]);
    expect(logs[0].filter((o) => o.what === 'pte-zap').map((o) => o.addr)).toEqual([BASE + 0x1000]);
  });

  it('take mmap_lock like the lock table: readers share, the writer excludes', () => {
    const { shared } = pair();
    shared.lockMmap('kw0', 'read');
    expect(shared.canLockMmap('read')).toBe(true);
    expect(shared.canLockMmap('write')).toBe(false);
    shared.unlockMmap('kw0');
    shared.lockMmap('proc', 'write');
    expect(shared.canLockMmap('read')).toBe(false);
    shared.unlockMmap('proc');
    expect(shared.canLockMmap('write')).toBe(true);
  });
});

describe('Atomics locks with a dead owner', () => {
  it('report mmap_lock held for read by a dead thread instead of waiting forever', () => {
    const sh = MmShared.create();
    // Thread slot 2 took mmap_lock for read, then died.
    readLock(sh, 2);
    sh.markDead(2);
    expect(() => writeLock(sh, 0)).toThrow(DeadThreadError);
    expect(() => writeLock(sh, 0)).toThrow(/mmap_lock held for read by thread slot\(s\) 2.*thread slot 2 is dead/);
    expect(Atomics.load(sh.w, MMAP)).toBe(1);
  });

  it('report the page-table lock held by a dead thread', () => {
    const sh = MmShared.create();
    ptlLock(sh, 3);
    sh.markDead(3);
    expect(() => ptlLock(sh, 1)).toThrow(/page-table lock held by thread slot 3: thread slot 3 is dead/);
    expect(Atomics.load(sh.w, PTL)).toBe(4);
  });

  it('declare a silent owner dead once its heartbeat stops (a bounded wait)', () => {
    const sh = MmShared.create();
    writeLock(sh, 5); // slot 5 never beats again
    const t0 = process.hrtime.bigint();
    expect(() => readLock(sh, 1)).toThrow(/mmap_lock held for write by thread slot 5: thread slot 5 stopped \(no heartbeat/);
    expect(sh.isDead(5)).toBe(true);
    expect(Number(process.hrtime.bigint() - t0) / 1e9).toBeLessThan(10);
  });
});
