/**
 * The mm algorithms, written once: VMA split/trim/free for munmap, mprotect and mmap, PTE zap
 * and downgrade, and the observations they report. PlainMemory (objects, inline mode) and
 * SharedMemory (SharedArrayBuffer, worker threads) only supply storage and locks, so the same
 * schedule gives the same VMA ids, page frame numbers and observations in every mode.
 *
 * Kernel order for munmap (do_vmi_align_munmap): split the edge VMAs, detach the range from the
 * tree, zap its PTEs under the page-table lock, then free the detached VMAs.
 */
import {
  type MemoryObserver,
  type MemoryPort,
  type MemoryState,
  type MmObservations,
  type Vma,
  PAGE_SIZE,
  makePte,
  pageOf,
  ptePfn,
  pteProt,
} from './memory.ts';

/** Who takes the page-table lock inside munmap/mprotect (zap_pte_range, change_pte_range). */
const ZAPPER = 'mm:zap';

/** One observation of the mm, as `emit` takes it: checked against MmObservations. */
type MmObservation = { [K in keyof MmObservations]: { what: K } & MmObservations[K] }[keyof MmObservations];

export abstract class MmCore implements MemoryPort {
  observer: MemoryObserver | null = null;

  // ---- storage, supplied by the implementation ------------------------------------------
  /** The VMA tree, sorted by start. Callers hold mmap_lock (or race, in a bug variant). */
  protected abstract loadVmas(): Vma[];
  /** Replace the VMA tree. Callers hold mmap_lock for write. */
  protected abstract storeVmas(vmas: Vma[]): void;
  protected abstract loadPte(page: number): number;
  protected abstract storePte(page: number, pte: number): void;
  protected abstract takeVmaId(): number;
  protected abstract takePfn(): number;
  abstract canLockMmap(mode: 'read' | 'write'): boolean;
  abstract lockMmap(who: string, mode: 'read' | 'write'): void;
  abstract unlockMmap(who: string): void;
  abstract lockPtl(who: string): void;
  abstract unlockPtl(who: string): void;
  abstract mmget(): boolean;
  abstract mmput(): void;
  protected abstract users(): number;
  protected abstract counters(): { nextVmaId: number; nextPfn: number };
  /** Pages that may hold a PTE, for describe(). */
  protected abstract ptePages(): number[];

  // ---- the algorithms ---------------------------------------------------------------------
  findVma(addr: number): Vma | null {
    for (const v of this.loadVmas()) if (v.start <= addr && addr < v.end) return v;
    return null;
  }

  useVma(id: number, addr: number, by: string): void {
    this.emit({ what: 'vma-use', vma: id, addr, by });
  }

  readPte(addr: number): number {
    return this.loadPte(pageOf(addr));
  }

  setPte(addr: number, pte: number, by: string): void {
    const page = pageOf(addr);
    const old = this.loadPte(page);
    this.storePte(page, pte);
    this.emit({ what: 'pte-set', addr: page * PAGE_SIZE, pfn: ptePfn(pte), prot: pteProt(pte), oldPfn: ptePfn(old), oldProt: pteProt(old), by });
  }

  allocPage(): number {
    return this.takePfn();
  }

  unmap(start: number, len: number, op = 'munmap'): void {
    const end = start + len;
    const freed: Vma[] = [];
    this.rewriteRange(start, end, (v) => {
      const lower = v.start < start;
      const upper = v.end > end;
      if (!lower && !upper) {
        freed.push(v);
        return [];
      }
      if (!lower) return [this.changed({ ...v, start: end }, op)];
      // __split_vma: the original keeps the part below the hole; a new VMA takes the part above it.
      const below = this.changed({ ...v, end: start }, op);
      return upper ? [below, this.allocated({ start: end, end: v.end, prot: v.prot }, op)] : [below];
    });
    this.zap(start, end, op);
    for (const v of freed) this.emit({ what: 'vma-free', vma: v.id, start: v.start, end: v.end, op });
  }

  map(start: number, len: number, prot: number): void {
    this.unmap(start, len, 'mmap');
    const vmas = this.loadVmas().slice();
    vmas.push(this.allocated({ start, end: start + len, prot }, 'mmap'));
    this.storeVmas(sortVmas(vmas));
  }

  protect(start: number, len: number, prot: number): void {
    const end = start + len;
    this.rewriteRange(start, end, (v) => {
      // mprotect_fixup: the original VMA keeps its lowest piece; split_vma allocates the others.
      const pieces: Omit<Vma, 'id'>[] = [];
      if (v.start < start) pieces.push({ start: v.start, end: start, prot: v.prot });
      pieces.push({ start: Math.max(v.start, start), end: Math.min(v.end, end), prot });
      if (v.end > end) pieces.push({ start: end, end: v.end, prot: v.prot });
      const kept = this.changed({ ...pieces[0], id: v.id }, 'mprotect');
      return [kept, ...pieces.slice(1).map((p) => this.allocated(p, 'mprotect'))];
    });
    // change_protection(): drop the PTE bits the new protection removes.
    this.eachPte(start, end, (page, pte) => {
      const kept = pteProt(pte) & prot;
      if (kept === pteProt(pte)) return;
      const addr = page * PAGE_SIZE;
      if (kept) {
        this.storePte(page, makePte(ptePfn(pte), kept));
        this.emit({ what: 'pte-protect', addr, pfn: ptePfn(pte), prot: kept, oldProt: pteProt(pte), op: 'mprotect' });
      } else {
        this.storePte(page, 0);
        this.emit({ what: 'pte-zap', addr, pfn: ptePfn(pte), op: 'mprotect' });
      }
    });
  }

  announce(): void {
    for (const v of this.loadVmas()) this.emit({ what: 'vma-alloc', vma: v.id, start: v.start, end: v.end, prot: v.prot, op: 'initial' });
    for (const [page, pte] of this.describe().ptes) {
      this.emit({ what: 'pte-set', addr: page * PAGE_SIZE, pfn: ptePfn(pte), prot: pteProt(pte), oldPfn: 0, oldProt: 0, by: 'initial' });
    }
  }

  describe(): MemoryState {
    const ptes: [number, number][] = [];
    for (const page of this.ptePages()) {
      const pte = this.loadPte(page);
      if (pte !== 0) ptes.push([page, pte]);
    }
    ptes.sort((a, b) => a[0] - b[0]);
    return { vmas: this.loadVmas().map((v) => ({ ...v })), ptes, users: this.users(), ...this.counters() };
  }

  protected emit(o: MmObservation): void {
    if (this.observer) this.observer(o);
  }

  /**
   * Replace each VMA that overlaps [start, end) by the VMAs `fix` returns for it (none: it is
   * gone); the others stay. Stores the new tree. Callers hold mmap_lock for write.
   */
  private rewriteRange(start: number, end: number, fix: (v: Vma) => Vma[]): void {
    const out: Vma[] = [];
    for (const v of this.loadVmas()) {
      if (v.end <= start || v.start >= end) out.push(v);
      else out.push(...fix(v));
    }
    this.storeVmas(sortVmas(out));
  }

  /** Each present PTE of [start, end), in address order, under the page-table lock. */
  private eachPte(start: number, end: number, fn: (page: number, pte: number) => void): void {
    this.lockPtl(ZAPPER);
    for (let page = pageOf(start); page < pageOf(end - 1) + 1; page++) {
      const pte = this.loadPte(page);
      if (pte !== 0) fn(page, pte);
    }
    this.unlockPtl(ZAPPER);
  }

  /** zap_pte_range over [start, end). */
  private zap(start: number, end: number, op: string): void {
    this.eachPte(start, end, (page, pte) => {
      this.storePte(page, 0);
      this.emit({ what: 'pte-zap', addr: page * PAGE_SIZE, pfn: ptePfn(pte), op });
    });
  }

  private allocated(v: Omit<Vma, 'id'> | Vma, op: string): Vma {
    const n: Vma = { id: this.takeVmaId(), start: v.start, end: v.end, prot: v.prot };
    this.emit({ what: 'vma-alloc', vma: n.id, start: n.start, end: n.end, prot: n.prot, op });
    return n;
  }

  private changed(v: Vma, op: string): Vma {
    this.emit({ what: 'vma-change', vma: v.id, start: v.start, end: v.end, prot: v.prot, op });
    return v;
  }
}

export function sortVmas(vmas: Vma[]): Vma[] {
  return vmas.sort((a, b) => a.start - b.start);
}
