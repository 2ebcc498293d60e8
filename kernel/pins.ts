/**
 * Page pins, written once for every system that pins user pages (VFIO type1, SPAPR TCE, iommufd):
 * per page frame a pin count (pin_user_pages / unpin_user_page, FOLL_LONGTERM), whether the page
 * was marked dirty (SetPageDirty / set_page_dirty_lock at unpin), and per mm the locked_vm
 * accounting (account_locked_vm / mm->locked_vm). Plain data, so a system keeps it inside its
 * shared-state piece and snapshots it with the rest.
 *
 * Locking: a page's pin count is atomic in the kernel (page refcount); locked_vm is updated under
 * mmap_lock (account_locked_vm takes it). Callers hold whatever lock their own path documents.
 * Ownership: every pin names its holder ("vfio_dma:3", "tce:17"), so a leak or an unpin by the
 * wrong owner names both ends.
 */

export interface PinTableState {
  /** pfn -> holders, one entry per pin (a holder may pin a page more than once). */
  pins: Record<number, string[]>;
  /** pfns marked dirty since their last pin from zero. */
  dirty: number[];
  /** locked_vm pages by mm (or accounting owner). */
  lockedVm: Record<string, number>;
  /** Pins ever taken and released (costs). */
  pinned: number;
  unpinned: number;
}

export class PinTable {
  constructor(public s: PinTableState = { pins: {}, dirty: [], lockedVm: {}, pinned: 0, unpinned: 0 }) {}

  /** pin_user_pages(): one more pin of `pfn` held by `holder`. */
  pin(pfn: number, holder: string): void {
    const list = (this.s.pins[pfn] ??= []);
    if (list.length === 0) this.s.dirty = this.s.dirty.filter((d) => d !== pfn);
    list.push(holder);
    this.s.pinned++;
  }

  /**
   * unpin_user_page(): drop `holder`'s pin. Returns an error message (the caller reports it as a
   * violation or throws) when `holder` holds no pin of the page.
   */
  unpin(pfn: number, holder: string): string | null {
    const list = this.s.pins[pfn];
    const i = list ? list.lastIndexOf(holder) : -1;
    if (!list || i < 0) return `unpin of pfn ${pfn} by ${holder}, which holds no pin of it (holders: ${list?.join(', ') || 'none'})`;
    list.splice(i, 1);
    if (list.length === 0) delete this.s.pins[pfn];
    this.s.unpinned++;
    return null;
  }

  count(pfn: number): number {
    return this.s.pins[pfn]?.length ?? 0;
  }

  holders(pfn: number): readonly string[] {
    return this.s.pins[pfn] ?? [];
  }

  /** How many pins of `pfn` `holder` holds. */
  countBy(pfn: number, holder: string): number {
    let n = 0;
    for (const h of this.s.pins[pfn] ?? []) if (h === holder) n++;
    return n;
  }

  /** Every pin held by `holder`, as pfns (with repeats). */
  heldBy(holder: string): number[] {
    const out: number[] = [];
    for (const [pfn, list] of Object.entries(this.s.pins)) for (const h of list) if (h === holder) out.push(Number(pfn));
    return out;
  }

  /** SetPageDirty(). */
  markDirty(pfn: number): void {
    if (!this.s.dirty.includes(pfn)) this.s.dirty.push(pfn);
  }

  isDirty(pfn: number): boolean {
    return this.s.dirty.includes(pfn);
  }

  /** account_locked_vm(mm, npages, inc). */
  account(mm: string, npages: number): void {
    this.s.lockedVm[mm] = (this.s.lockedVm[mm] ?? 0) + npages;
  }

  lockedVm(mm: string): number {
    return this.s.lockedVm[mm] ?? 0;
  }

  /** Pins outstanding, as "pfn:holder" (sorted): what a leak report names. */
  outstanding(): string[] {
    const out: string[] = [];
    for (const [pfn, list] of Object.entries(this.s.pins)) for (const h of list) out.push(`${pfn}:${h}`);
    return out.sort();
  }

  snapshot(): PinTableState {
    return structuredClone(this.s);
  }

  restore(s: PinTableState): void {
    this.s = structuredClone(s);
  }

  /** For the world hash: pins and dirty bits, without the running totals. */
  canonical(): unknown {
    const pins = Object.entries(this.s.pins)
      .map(([pfn, l]) => [Number(pfn), [...l].sort()] as const)
      .sort((a, b) => a[0] - b[0]);
    return { pins, dirty: [...this.s.dirty].sort((a, b) => a - b), lockedVm: this.s.lockedVm };
  }
}
