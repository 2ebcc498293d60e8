/**
 * The memory interface handle_mm_fault and the process's munmap/mprotect are written against.
 * Inline mode implements it with plain objects (PlainMemory); the threaded modes implement it
 * over a SharedArrayBuffer. Addresses are byte addresses; pages are PAGE_SIZE bytes.
 */
export const PAGE_SIZE = 0x1000;
export const PROT_READ = 1;
export const PROT_WRITE = 2;

export interface Vma {
  start: number;
  /** Exclusive. */
  end: number;
  /** PROT_READ | PROT_WRITE bits. */
  prot: number;
}

export interface MemoryPort {
  /** mmap_lock (an rwsem): can it be taken in this mode right now? */
  canLockMmap(mode: 'read' | 'write'): boolean;
  lockMmap(who: string, mode: 'read' | 'write'): void;
  unlockMmap(who: string): void;
  /** mm->mm_users: mmget_not_zero / mmput. */
  mmget(): boolean;
  mmput(): void;
  /** vma_lookup(mm, addr): caller holds mmap_lock. */
  findVma(addr: number): Vma | null;
  /** Install or upgrade the PTE for addr's page (takes and drops the page-table lock). */
  installPte(addr: number, prot: number): void;
  pte(addr: number): number;
  /** munmap(start, len): drop VMAs and zap PTEs in the range. Caller holds mmap_lock for write. */
  unmap(start: number, len: number): void;
  /** mmap(start, len, prot) of an anonymous range. Caller holds mmap_lock for write. */
  map(start: number, len: number, prot: number): void;
  /** mprotect(start, len, prot): caller holds mmap_lock for write. */
  protect(start: number, len: number, prot: number): void;
  /** A stable description for traces. */
  describe(): { vmas: Vma[]; ptes: [number, number][] };
}
