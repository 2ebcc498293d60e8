/**
 * The mm monitors, each fed a hand-built trace that breaks it (it must fail and name the
 * offending values) and a matching good one (it must stay quiet).
 */
import { describe, expect, it } from 'vitest';
import { mmLockExclusion, noLostPage, pteOutsideVma, vmaUseAfterFree } from '../../systems/iopf/specs/index.ts';
import type { ActorObservation, Monitor, StepRecord } from '../../core/model/monitor.ts';
import type { LockEvent } from '../../core/model/locks.ts';

const rec = (i: number, actor: string, obs: Record<string, unknown>[] = [], locks: LockEvent[] = []): StepRecord => ({
  i,
  t: i,
  step: 'x',
  actor,
  event: { type: 'X' },
  before: 's',
  after: 's',
  delivered: null,
  sent: [],
  obs: obs.map((o) => ({ actor, what: String(o.what), ...o }) as ActorObservation),
  locks,
});
const vma = (id: number, start: number, end: number, prot = 3, what = 'vma-alloc', op = 'initial') => ({ what, vma: id, start, end, prot, op });
const pteSet = (addr: number, pfn: number, prot: number, oldPfn = 0, oldProt = 0) => ({ what: 'pte-set', addr, pfn, prot, oldPfn, oldProt, by: 'handle_mm_fault' });
const lock = (op: 'acquire' | 'release', lockName: string, mode: 'read' | 'write', by: string): LockEvent => ({ op, lock: lockName, kind: 'rwsem', mode, by, path: op === 'acquire' ? 'take' : 'drop' });

function feed(m: Monitor, steps: StepRecord[]) {
  const inst = m.create({});
  for (const s of steps) {
    const v = inst.onStep?.(s);
    if (v) return v;
  }
  return inst.atQuiescence?.({ step: 99, actors: {}, undelivered: [] }) ?? null;
}

describe('vma-use-after-free', () => {
  const start = rec(0, 'mm', [vma(1, 0x10000, 0x18000)]);
  it('fails when the fault path uses a VMA munmap freed, naming the VMA, the address and who freed it', () => {
    const v = feed(vmaUseAfterFree, [start, rec(3, 'proc', [{ what: 'vma-free', vma: 1, start: 0x10000, end: 0x18000, op: 'munmap' }]), rec(4, 'kworker0', [{ what: 'vma-use', vma: 1, addr: 0x12000, by: 'handle_mm_fault' }])]);
    expect(v?.message).toBe('use after free: kworker0 (handle_mm_fault) dereferenced vma#1 [0x10000-0x18000) rw for 0x12000, freed at step 3 by proc (munmap)');
    expect(v?.actors).toEqual(['kworker0', 'proc']);
  });
  it('fails when the VMA was trimmed and no longer covers the address', () => {
    const v = feed(vmaUseAfterFree, [start, rec(3, 'proc', [vma(1, 0x10000, 0x12000, 3, 'vma-change', 'munmap')]), rec(4, 'kworker1', [{ what: 'vma-use', vma: 1, addr: 0x15000, by: 'handle_mm_fault' }])]);
    expect(v?.message).toMatch(/stale VMA: kworker1 .* vma#1 \[0x10000-0x12000\) rw for 0x15000/);
  });
  it('stays quiet for a use inside a live VMA', () => {
    expect(feed(vmaUseAfterFree, [start, rec(4, 'kworker0', [{ what: 'vma-use', vma: 1, addr: 0x12000, by: 'handle_mm_fault' }])])).toBeNull();
  });
});

describe('pte-outside-vma', () => {
  const start = rec(0, 'mm', [vma(1, 0x10000, 0x12000, 1)]);
  it('fails on a PTE outside every VMA, listing the VMAs', () => {
    const v = feed(pteOutsideVma, [start, rec(5, 'kworker0', [pteSet(0x13000, 2, 1)])]);
    expect(v?.message).toBe('kworker0 (handle_mm_fault) installed a PTE for 0x13000 (pfn 2, r-) that no VMA allows; VMAs: vma#1 [0x10000-0x12000) r-');
  });
  it('fails on a writable PTE in a read-only VMA', () => {
    expect(feed(pteOutsideVma, [start, rec(5, 'kworker0', [pteSet(0x11000, 2, 3)])])?.message).toMatch(/0x11000 \(pfn 2, rw\) that no VMA allows/);
  });
  it('fails at the end for a PTE that outlived its VMA', () => {
    const v = feed(pteOutsideVma, [start, rec(5, 'kworker0', [pteSet(0x11000, 2, 1)]), rec(6, 'proc', [{ what: 'vma-free', vma: 1, op: 'munmap' }])]);
    expect(v?.message).toMatch(/the PTE for 0x11000 \(pfn 2, r-, set at step 5 by kworker0\) outlived its VMA; VMAs: none/);
  });
  it('stays quiet when the PTE is zapped with its VMA', () => {
    const steps = [start, rec(5, 'kworker0', [pteSet(0x11000, 2, 1)]), rec(6, 'proc', [{ what: 'pte-zap', addr: 0x11000, pfn: 2, op: 'munmap' }, { what: 'vma-free', vma: 1, op: 'munmap' }])];
    expect(feed(pteOutsideVma, steps)).toBeNull();
  });
});

describe('no-lost-page', () => {
  it('fails when a present PTE is overwritten with another page, naming both pages and the first installer', () => {
    const v = feed(noLostPage, [rec(5, 'kworker0', [pteSet(0x12000, 3, 1)]), rec(7, 'kworker1', [{ ...pteSet(0x12000, 4, 1, 3, 1), by: 'handle_mm_fault (no PTL)' }])]);
    expect(v?.message).toBe('lost page: kworker1 (handle_mm_fault (no PTL)) overwrote the PTE of 0x12000 (pfn 3, installed by kworker0 at step 5) with pfn 4; pfn 3 is leaked');
    expect(v?.actors).toEqual(['kworker1', 'kworker0']);
  });
  it('stays quiet for an in-place upgrade and for a new page after a zap', () => {
    const steps = [
      rec(5, 'kworker0', [pteSet(0x12000, 3, 1)]),
      rec(6, 'kworker1', [pteSet(0x12000, 3, 3, 3, 1)]),
      rec(7, 'proc', [{ what: 'pte-zap', addr: 0x12000, pfn: 3, op: 'munmap' }]),
      rec(8, 'kworker0', [pteSet(0x12000, 5, 1)]),
    ];
    expect(feed(noLostPage, steps)).toBeNull();
  });
});

describe('mm-lock-exclusion', () => {
  it('fails when the writer takes mmap_lock while a reader holds it', () => {
    const v = feed(mmLockExclusion, [rec(1, 'kworker0', [], [lock('acquire', 'mmap_lock', 'read', 'kworker0')]), rec(2, 'proc', [], [lock('acquire', 'mmap_lock', 'write', 'proc')])]);
    expect(v?.message).toBe('mmap_lock taken for write by proc (take) while held by kworker0 (read)');
  });
  it('fails when a reader takes mmap_lock under the writer, and on a doubly held page-table lock', () => {
    expect(feed(mmLockExclusion, [rec(1, 'proc', [], [lock('acquire', 'mmap_lock', 'write', 'proc')]), rec(2, 'kworker1', [], [lock('acquire', 'mmap_lock', 'read', 'kworker1')])])?.message).toMatch(/taken for read by kworker1 .* held by proc \(write\)/);
    expect(feed(mmLockExclusion, [rec(1, 'kworker0', [], [lock('acquire', 'page_table_lock', 'write', 'kworker0')]), rec(2, 'mm:zap', [], [lock('acquire', 'page_table_lock', 'write', 'mm:zap')])])?.message).toMatch(/page-table lock taken by mm:zap .* held by kworker0/);
  });
  it('stays quiet for readers together, then the writer after they left', () => {
    const steps = [
      rec(1, 'kworker0', [], [lock('acquire', 'mmap_lock', 'read', 'kworker0')]),
      rec(2, 'kworker1', [], [lock('acquire', 'mmap_lock', 'read', 'kworker1')]),
      rec(3, 'kworker0', [], [lock('release', 'mmap_lock', 'read', 'kworker0')]),
      rec(4, 'kworker1', [], [lock('release', 'mmap_lock', 'read', 'kworker1')]),
      rec(5, 'proc', [], [lock('acquire', 'mmap_lock', 'write', 'proc')]),
    ];
    expect(feed(mmLockExclusion, steps)).toBeNull();
  });
});
