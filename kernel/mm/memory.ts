/**
 * The memory interface handle_mm_fault and the process's munmap/mprotect are written against.
 * Inline mode implements it with plain objects (PlainMemory); the threaded modes implement it
 * over a SharedArrayBuffer (SharedMemory). Both extend MmCore, where the VMA and page-table
 * algorithms are written once. Addresses are byte addresses; pages are PAGE_SIZE bytes.
 *
 * Memory reports what it does as observations (see MmObservations) to `observer`: the runtime
 * files them under the step that caused them, or, in free mode, stamps them into a history.
 */
import type { Observation } from '../../core/model/effects.ts';

export const PAGE_SIZE = 0x1000;
export const PROT_READ = 1;
export const PROT_WRITE = 2;

export interface Vma {
  /** The vm_area_struct's identity: a new id for every allocated VMA (mmap, split). */
  id: number;
  start: number;
  /** Exclusive. */
  end: number;
  /** PROT_READ | PROT_WRITE bits. */
  prot: number;
}

/** A VMA as a scenario describes its initial address space (ids are assigned by the memory). */
export type VmaSpec = Omit<Vma, 'id'> & { id?: number };

/** A PTE word: 0 is pte_none; otherwise pfn * 4 + prot. */
export function makePte(pfn: number, prot: number): number {
  return pfn * 4 + (prot & 3);
}
export function ptePfn(pte: number): number {
  return Math.floor(pte / 4);
}
export function pteProt(pte: number): number {
  return pte & 3;
}
export function pageOf(addr: number): number {
  return Math.floor(addr / PAGE_SIZE);
}

/** Everything a memory holds, to copy one implementation's state into another. */
export interface MemoryState {
  vmas: Vma[];
  /** [page number, pte word], sorted. */
  ptes: [number, number][];
  users: number;
  nextVmaId: number;
  nextPfn: number;
}

/**
 * What memory reports, by kind (each is an Observation with `what` set to the kind): the mm's
 * observation map, for monitors to read typed (core/model/observations.ts `observed`).
 */
export type MmObservations = {
  /** A vm_area_struct was allocated (mmap, the new half of a split, or the initial address space). */
  'vma-alloc': { vma: number; start: number; end: number; prot: number; op: string };
  /** A live VMA was trimmed or its protection changed in place. */
  'vma-change': { vma: number; start: number; end: number; prot: number; op: string };
  /** A VMA was freed (munmap, or replaced by mmap). */
  'vma-free': { vma: number; start: number; end: number; op: string };
  /** The fault path dereferenced the VMA it looked up. */
  'vma-use': { vma: number; addr: number; by: string };
  /** A PTE was written (old is what it overwrote). */
  'pte-set': { addr: number; pfn: number; prot: number; oldPfn: number; oldProt: number; by: string };
  /** A present PTE was cleared. */
  'pte-zap': { addr: number; pfn: number; op: string };
  /** A present PTE lost permission bits (mprotect). */
  'pte-protect': { addr: number; pfn: number; prot: number; oldProt: number; op: string };
};

export type MemoryObserver = (o: Observation) => void;

export interface MemoryPort {
  /** mmap_lock (an rwsem): can it be taken in this mode right now? */
  canLockMmap(mode: 'read' | 'write'): boolean;
  lockMmap(who: string, mode: 'read' | 'write'): void;
  unlockMmap(who: string): void;
  /** The page-table lock (pte_offset_map_lock / pte_unmap_unlock): a spinlock held within one step. */
  lockPtl(who: string): void;
  unlockPtl(who: string): void;
  /** mm->mm_users: mmget_not_zero / mmput. */
  mmget(): boolean;
  mmput(): void;
  /** vma_lookup(mm, addr): caller holds mmap_lock. */
  findVma(addr: number): Vma | null;
  /** The fault path dereferences the VMA it looked up (reported as `vma-use`). */
  useVma(id: number, addr: number, by: string): void;
  /** The PTE word of addr's page (0 = pte_none). The caller holds the PTL, or peeks without it. */
  readPte(addr: number): number;
  /** Write addr's PTE. The caller holds the PTL. */
  setPte(addr: number, pte: number, by: string): void;
  /** Allocate a fresh anonymous page; returns its pfn. */
  allocPage(): number;
  /** munmap(start, len): drop VMAs and zap PTEs in the range. Caller holds mmap_lock for write. */
  unmap(start: number, len: number): void;
  /** mmap(start, len, prot) of an anonymous range. Caller holds mmap_lock for write. */
  map(start: number, len: number, prot: number): void;
  /** mprotect(start, len, prot): caller holds mmap_lock for write. */
  protect(start: number, len: number, prot: number): void;
  /** Report the current address space as `vma-alloc` (op "initial") so monitors start from it. */
  announce(): void;
  /** The whole state, sorted: for traces, tests and copying into another implementation. */
  describe(): MemoryState;
  /** Where observations go; null drops them. */
  observer: MemoryObserver | null;
}
