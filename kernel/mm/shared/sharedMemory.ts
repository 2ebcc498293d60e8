/**
 * Memory over the SharedArrayBuffer (see layout.ts for which lock protects which word): the
 * VMA table, the page table, mmap_lock as an Atomics rwsem and the page-table lock as an
 * Atomics lock word. One instance per thread (its slot); the algorithms are MmCore's, the same
 * as inline mode's.
 *
 * On the main thread `mirror` is the run's LockPort: mmap_lock operations made here are also
 * recorded there, so the trace and lockdep see them exactly as in inline mode.
 */
import type { LockEvent, LockPort } from '../../../core/model/locks.ts';
import type { Vma } from '../memory.ts';
import { MmCore } from '../mmCore.ts';
import { MMAP_LOCK, PAGE_TABLE_LOCK } from '../plainMemory.ts';
import {
  canReadLock,
  canWriteLock,
  mmapHeldBy,
  mmapUnlock,
  ptlHeldBy,
  ptlLock,
  ptlUnlock,
  readLock,
  writeLock,
} from './atomicLocks.ts';
import { MAX_VMAS, type MmShared, NEXT_PFN, NEXT_VMA, USERS, VMA_COUNT } from './layout.ts';

export interface SharedMemoryOptions {
  /** The run's lock table, on the main thread. */
  mirror?: LockPort;
  /** Turnstile: the Atomics word and the lock table must always agree (a divergence throws). */
  checkMirror?: boolean;
}

export class SharedMemory extends MmCore {
  /** Lock operations as they happen (after acquiring, before releasing). */
  onLock: ((e: LockEvent) => void) | null = null;

  constructor(
    private readonly sh: MmShared,
    readonly slot: number,
    private readonly opts: SharedMemoryOptions = {},
  ) {
    super();
  }

  canLockMmap(mode: 'read' | 'write'): boolean {
    const can = mode === 'read' ? canReadLock(this.sh) : canWriteLock(this.sh);
    if (this.opts.checkMirror && this.opts.mirror && can !== this.opts.mirror.canTake(MMAP_LOCK, mode)) {
      throw new Error(`turnstile: mmap_lock word says ${mode} is ${can ? '' : 'not '}available, the lock table disagrees`);
    }
    return can;
  }

  lockMmap(who: string, mode: 'read' | 'write'): void {
    if (mode === 'read') readLock(this.sh, this.slot);
    else writeLock(this.sh, this.slot);
    const path = mode === 'read' ? 'mmap_read_lock' : 'mmap_write_lock';
    this.opts.mirror?.acquire(MMAP_LOCK, who, path, mode);
    this.onLock?.({ op: 'acquire', lock: MMAP_LOCK, kind: 'rwsem', mode, by: who, path });
  }

  unlockMmap(who: string): void {
    const mode = mmapHeldBy(this.sh, this.slot) ?? 'read';
    this.onLock?.({ op: 'release', lock: MMAP_LOCK, kind: 'rwsem', mode, by: who, path: 'mmap_unlock' });
    this.opts.mirror?.release(MMAP_LOCK, who, 'mmap_unlock');
    mmapUnlock(this.sh, this.slot);
  }

  lockPtl(who: string): void {
    ptlLock(this.sh, this.slot);
    this.onLock?.({ op: 'acquire', lock: PAGE_TABLE_LOCK, kind: 'spinlock', mode: 'write', by: who, path: 'pte_offset_map_lock' });
  }

  unlockPtl(who: string): void {
    this.onLock?.({ op: 'release', lock: PAGE_TABLE_LOCK, kind: 'spinlock', mode: 'write', by: who, path: 'pte_unmap_unlock' });
    ptlUnlock(this.sh, this.slot);
  }

  /** Drop whatever this slot still holds (a run cut short, a cancelled job). */
  releaseHeld(): void {
    if (ptlHeldBy(this.sh, this.slot)) ptlUnlock(this.sh, this.slot);
    if (mmapHeldBy(this.sh, this.slot)) mmapUnlock(this.sh, this.slot);
  }

  mmget(): boolean {
    const w = this.sh.w;
    for (;;) {
      const u = Atomics.load(w, USERS);
      if (u === 0) return false;
      if (Atomics.compareExchange(w, USERS, u, u + 1) === u) return true;
    }
  }

  mmput(): void {
    Atomics.sub(this.sh.w, USERS, 1);
  }

  protected loadVmas(): Vma[] {
    const w = this.sh.w;
    const n = Math.min(Atomics.load(w, VMA_COUNT), MAX_VMAS);
    const out: Vma[] = [];
    for (let i = 0; i < n; i++) {
      const b = this.sh.vmaIndex(i);
      const id = Atomics.load(w, b);
      // A reader racing a writer (a bug variant) can see a slot being rewritten: skip empty ones.
      if (id !== 0) out.push({ id, start: Atomics.load(w, b + 1), end: Atomics.load(w, b + 2), prot: Atomics.load(w, b + 3) });
    }
    return out;
  }

  protected storeVmas(vmas: Vma[]): void {
    const w = this.sh.w;
    if (vmas.length > MAX_VMAS) throw new Error(`shared memory holds at most ${MAX_VMAS} VMAs`);
    const old = Atomics.load(w, VMA_COUNT);
    vmas.forEach((v, i) => {
      const b = this.sh.vmaIndex(i);
      Atomics.store(w, b, v.id);
      Atomics.store(w, b + 1, v.start);
      Atomics.store(w, b + 2, v.end);
      Atomics.store(w, b + 3, v.prot);
    });
    for (let i = vmas.length; i < old; i++) Atomics.store(w, this.sh.vmaIndex(i), 0);
    Atomics.store(w, VMA_COUNT, vmas.length);
  }

  protected loadPte(page: number): number {
    const i = this.sh.pteIndex(page);
    return i < 0 ? 0 : Atomics.load(this.sh.w, i);
  }

  protected storePte(page: number, pte: number): void {
    Atomics.store(this.sh.w, this.sh.pteIndex(page, true), pte);
  }

  protected takeVmaId(): number {
    return Atomics.add(this.sh.w, NEXT_VMA, 1);
  }

  protected takePfn(): number {
    return Atomics.add(this.sh.w, NEXT_PFN, 1);
  }

  protected users(): number {
    return Atomics.load(this.sh.w, USERS);
  }

  protected counters(): { nextVmaId: number; nextPfn: number } {
    return { nextVmaId: Atomics.load(this.sh.w, NEXT_VMA), nextPfn: Atomics.load(this.sh.w, NEXT_PFN) };
  }

  protected ptePages(): number[] {
    const { base, count } = this.sh.pageWindow();
    return [...Array(count).keys()].map((i) => base + i);
  }
}
