/**
 * Inline-mode memory: VMAs and PTEs as plain objects, mmap_lock as an rwsem in the run's lock
 * table (so lockdep and the trace see it like any other kernel lock).
 *
 * Locking, as in the kernel: `vmas` is protected by mmap_lock (read to look up, write to
 * change); `ptes` by the page-table lock, taken inside installPte and by zap under mmap_lock
 * for write. `users` is mm->mm_users.
 */
import type { LockTable } from '../../actors/locks.ts';
import { PAGE_SIZE, type MemoryPort, type Vma } from './memory.ts';

export const MMAP_LOCK = 'mmap_lock';

export class PlainMemory implements MemoryPort {
  private vmas: Vma[];
  private readonly ptes = new Map<number, number>();
  private users = 1;

  constructor(
    private readonly locks: LockTable,
    vmas: Vma[],
  ) {
    this.vmas = vmas.map((v) => ({ ...v }));
    locks.declare(MMAP_LOCK, 'rwsem');
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

  mmget(): boolean {
    if (this.users === 0) return false;
    this.users++;
    return true;
  }

  mmput(): void {
    this.users--;
  }

  findVma(addr: number): Vma | null {
    return this.vmas.find((v) => v.start <= addr && addr < v.end) ?? null;
  }

  installPte(addr: number, prot: number): void {
    const page = pageOf(addr);
    this.ptes.set(page, (this.ptes.get(page) ?? 0) | prot);
  }

  pte(addr: number): number {
    return this.ptes.get(pageOf(addr)) ?? 0;
  }

  unmap(start: number, len: number): void {
    const end = start + len;
    const out: Vma[] = [];
    for (const v of this.vmas) {
      if (v.end <= start || v.start >= end) out.push(v);
      else {
        if (v.start < start) out.push({ start: v.start, end: start, prot: v.prot });
        if (v.end > end) out.push({ start: end, end: v.end, prot: v.prot });
      }
    }
    this.vmas = out;
    for (let a = start; a < end; a += PAGE_SIZE) this.ptes.delete(pageOf(a));
  }

  map(start: number, len: number, prot: number): void {
    this.unmap(start, len);
    this.vmas.push({ start, end: start + len, prot });
    this.vmas.sort((a, b) => a.start - b.start);
  }

  protect(start: number, len: number, prot: number): void {
    const end = start + len;
    const out: Vma[] = [];
    for (const v of this.vmas) {
      if (v.end <= start || v.start >= end) {
        out.push(v);
        continue;
      }
      if (v.start < start) out.push({ start: v.start, end: start, prot: v.prot });
      out.push({ start: Math.max(v.start, start), end: Math.min(v.end, end), prot });
      if (v.end > end) out.push({ start: end, end: v.end, prot: v.prot });
    }
    this.vmas = out;
    // Downgrading protection drops the PTE bits it removes, as change_protection() does.
    for (let a = start; a < end; a += PAGE_SIZE) {
      const p = this.ptes.get(pageOf(a));
      if (p !== undefined) {
        const kept = p & prot;
        if (kept) this.ptes.set(pageOf(a), kept);
        else this.ptes.delete(pageOf(a));
      }
    }
  }

  describe(): { vmas: Vma[]; ptes: [number, number][] } {
    return {
      vmas: this.vmas.map((v) => ({ ...v })),
      ptes: [...this.ptes.entries()].sort((a, b) => a[0] - b[0]),
    };
  }
}

function pageOf(addr: number): number {
  return Math.floor(addr / PAGE_SIZE);
}
