/**
 * Inline-mode memory: VMAs and PTEs as plain objects, mmap_lock as an rwsem in the run's lock
 * table (so lockdep and the trace see it like any other kernel lock). The algorithms are
 * MmCore's; this class only stores.
 *
 * Locking, as in the kernel:
 * - `vmas` (the VMA tree) and `nextVmaId`: mmap_lock (read to look up, write to change);
 * - `ptes` (the page table): the page-table lock, taken by the fault path around its
 *   check-and-set and by zap/change_protection inside munmap/mprotect; in inline mode every
 *   step runs alone, so the PTL is a holder check that catches a step leaving it held;
 * - `users` (mm->mm_users) and `nextPfn` (the page allocator): atomic, no lock.
 */
import type { LockPort } from '../../core/model/locks.ts';
import type { Vma, VmaSpec } from './memory.ts';
import { MmCore, sortVmas } from './mmCore.ts';

export const MMAP_LOCK = 'mmap_lock';
export const PAGE_TABLE_LOCK = 'page_table_lock';

export class PlainMemory extends MmCore {
  private vmas: Vma[];
  private ptes = new Map<number, number>();
  private nUsers = 1;
  private nextVmaId = 1;
  private nextPfn = 1;
  private ptlHolder: string | null = null;

  constructor(
    private readonly locks: LockPort,
    vmas: VmaSpec[],
  ) {
    super();
    this.vmas = sortVmas(vmas.map((v) => ({ id: v.id ?? this.nextVmaId++, start: v.start, end: v.end, prot: v.prot })));
    this.nextVmaId = Math.max(this.nextVmaId, ...this.vmas.map((v) => v.id + 1));
    locks.declare(MMAP_LOCK, 'rwsem');
  }

  /** Everything this memory holds, as plain data (the mmap_lock's holders are in the lock table). */
  save(): { vmas: Vma[]; ptes: [number, number][]; users: number; nextVmaId: number; nextPfn: number } {
    if (this.ptlHolder !== null) throw new Error(`${PAGE_TABLE_LOCK} held by ${this.ptlHolder} between steps`);
    return { vmas: this.vmas.map((v) => ({ ...v })), ptes: [...this.ptes], users: this.nUsers, nextVmaId: this.nextVmaId, nextPfn: this.nextPfn };
  }

  load(s: ReturnType<PlainMemory['save']>): void {
    this.vmas = s.vmas.map((v) => ({ ...v }));
    this.ptes = new Map(s.ptes);
    this.nUsers = s.users;
    this.nextVmaId = s.nextVmaId;
    this.nextPfn = s.nextPfn;
    this.ptlHolder = null;
  }

  canLockMmap(mode: 'read' | 'write'): boolean {
    return this.locks.canTake(MMAP_LOCK, mode);
  }

  lockMmap(who: string, mode: 'read' | 'write'): void {
    this.locks.acquire(MMAP_LOCK, who, mode === 'read' ? 'mmap_read_lock' : 'mmap_write_lock', mode);
  }

  unlockMmap(who: string): void {
    this.locks.release(MMAP_LOCK, who, 'mmap_unlock');
  }

  lockPtl(who: string): void {
    if (this.ptlHolder !== null) throw new Error(`${PAGE_TABLE_LOCK} taken by ${who} while held by ${this.ptlHolder}`);
    this.ptlHolder = who;
  }

  unlockPtl(who: string): void {
    if (this.ptlHolder !== who) throw new Error(`${PAGE_TABLE_LOCK} released by ${who} which does not hold it`);
    this.ptlHolder = null;
  }

  mmget(): boolean {
    if (this.nUsers === 0) return false;
    this.nUsers++;
    return true;
  }

  mmput(): void {
    this.nUsers--;
  }

  protected loadVmas(): Vma[] {
    return this.vmas;
  }

  protected storeVmas(vmas: Vma[]): void {
    this.vmas = vmas;
  }

  protected loadPte(page: number): number {
    return this.ptes.get(page) ?? 0;
  }

  protected storePte(page: number, pte: number): void {
    if (pte === 0) this.ptes.delete(page);
    else this.ptes.set(page, pte);
  }

  protected takeVmaId(): number {
    return this.nextVmaId++;
  }

  protected takePfn(): number {
    return this.nextPfn++;
  }

  protected users(): number {
    return this.nUsers;
  }

  protected counters(): { nextVmaId: number; nextPfn: number } {
    return { nextVmaId: this.nextVmaId, nextPfn: this.nextPfn };
  }

  protected ptePages(): number[] {
    return [...this.ptes.keys()];
  }
}
