/**
 * Host memory the model touches: user pages of the VMM (pinned by GUP), DMA-API buffers, GPU
 * device memory; their pins (kernel/pins.ts), dirty bits, and the mm's locked_vm.
 *
 * Locking: a page's pin count is atomic (the page refcount: pin_user_pages / unpin_user_page);
 * SetPageDirty is an atomic bit op; `mapped` (the VMM's mapping) changes under mmap_lock (write,
 * munmap); locked_vm under mmap_lock write (account_locked_vm, mm/util.c). Pin holders name who
 * owns the reference: "vfio" (a v1 container's per-TCE pin), "region:R" (a preregistered
 * region's FOLL_LONGTERM pin), released by the same owner.
 */
import { PinTable, type PinTableState } from '../../../kernel/pins.ts';
import { Facet } from './facet.ts';
import { BOGUS_PFN, DEVMEM_PFN, KERNEL_PFN, USER_PFN } from './types.ts';

export type PageKind = 'user' | 'kernel' | 'devmem' | 'bogus';

export interface PageInfo {
  kind: PageKind;
  /** Mapped in the VMM (user pages) or owned by its driver (DMA-API buffers). */
  mapped: boolean;
  freed: boolean;
}

export interface MemData {
  pins: PinTableState;
  pages: Record<number, PageInfo>;
  /** locked_vm before the run (RLIMIT_MEMLOCK accounting starts here). */
  base: number;
  nextKernel: number;
}

export const MM = 'mm';

export class MemState extends Facet<MemData> {
  readonly name = 'tce.mem';
  private pt: PinTable;

  constructor(uaPages: number, devmemPages: number, base: number) {
    const pt = new PinTable();
    const pages: Record<number, PageInfo> = { [BOGUS_PFN]: { kind: 'bogus', mapped: false, freed: true } };
    for (let ua = 0; ua < uaPages; ua++) pages[USER_PFN + ua] = { kind: 'user', mapped: true, freed: false };
    for (let i = 0; i < devmemPages; i++) pages[DEVMEM_PFN + i] = { kind: 'devmem', mapped: true, freed: false };
    pt.account(MM, base);
    super({ pins: pt.s, pages, base, nextKernel: 0 });
    this.pt = pt;
  }

  override restore(s: unknown): void {
    super.restore(s);
    this.pt = new PinTable(this.d.pins);
  }

  page(pfn: number): PageInfo {
    return this.d.pages[pfn] ?? { kind: 'bogus', mapped: false, freed: true };
  }

  /** The page a user address is backed by now, or null (not mapped: GUP fails with -EFAULT). */
  userPfn(ua: number): number | null {
    const pfn = USER_PFN + ua;
    const p = this.d.pages[pfn];
    return p && p.kind === 'user' && p.mapped ? pfn : null;
  }

  pins(pfn: number): number {
    return this.pt.count(pfn);
  }

  pin(pfn: number, holder: string): void {
    this.pt.pin(pfn, holder);
    this.emit('pin', { pfn, holder, pins: this.pt.count(pfn) });
  }

  /**
   * unpin_user_page(). `value` 'phys': the caller passed a physical address where a struct page
   * pointer was expected (c4b78169e366): nothing is really unpinned, the kernel crashes or
   * corrupts memory; the observation is what the monitor judges.
   */
  unpin(pfn: number, holder: string, value: 'page' | 'phys' = 'page'): void {
    if (value === 'phys') {
      this.emit('unpin', { pfn, holder, pins: this.pt.count(pfn), value });
      return;
    }
    const err = this.pt.unpin(pfn, holder);
    this.emit('unpin', { pfn, holder, pins: this.pt.count(pfn), value, ...(err ? { missing: true } : {}) });
    this.maybeFree(pfn);
  }

  setDirty(pfn: number, by: string): void {
    const devmem = this.page(pfn).kind === 'devmem';
    this.pt.markDirty(pfn);
    this.emit('set-dirty', { pfn, devmem, by });
  }

  /** munmap() of the VMM's pages [ua, ua + n). */
  munmap(ua: number, n: number): void {
    for (let i = ua; i < ua + n; i++) {
      const p = this.d.pages[USER_PFN + i];
      if (!p || p.kind !== 'user' || !p.mapped) continue;
      p.mapped = false;
      this.maybeFree(USER_PFN + i);
    }
  }

  /** A DMA-API buffer of the host driver (kmalloc'ed memory). */
  allocKernel(): number {
    const pfn = KERNEL_PFN + this.d.nextKernel++;
    this.d.pages[pfn] = { kind: 'kernel', mapped: true, freed: false };
    return pfn;
  }

  freeKernel(pfn: number): void {
    const p = this.d.pages[pfn];
    p.mapped = false;
    this.maybeFree(pfn);
  }

  /** What a DMA to `pfn` finds: live memory, freed memory, device memory, or garbage. */
  pageState(pfn: number): 'live' | 'free' | 'devmem' | 'bogus' {
    const p = this.page(pfn);
    if (p.kind === 'bogus') return 'bogus';
    if (p.kind === 'devmem') return 'devmem';
    return p.freed ? 'free' : 'live';
  }

  /** account_locked_vm(mm, |delta|, delta > 0). */
  account(delta: number, reason: string): void {
    this.pt.account(MM, delta);
    this.emit('account', { delta, now: this.pt.lockedVm(MM), base: this.d.base, reason });
  }

  lockedVm(): number {
    return this.pt.lockedVm(MM);
  }

  outstanding(): string[] {
    return this.pt.outstanding();
  }

  isDirty(pfn: number): boolean {
    return this.pt.isDirty(pfn);
  }

  private maybeFree(pfn: number): void {
    const p = this.d.pages[pfn];
    if (!p || p.freed || p.mapped || this.pt.count(pfn) > 0) return;
    if (p.kind !== 'user' && p.kind !== 'kernel') return;
    p.freed = true;
    this.emit('page-free', { pfn });
  }

  override canonical(): unknown {
    return { pins: this.pt.canonical(), pages: this.d.pages };
  }

  override view(): unknown {
    const pages: Record<number, string> = {};
    for (const [pfn, p] of Object.entries(this.d.pages)) {
      if (p.kind === 'bogus') continue;
      const pins = this.pt.count(Number(pfn));
      pages[Number(pfn)] = `${p.kind}${p.freed ? ' FREE' : p.mapped ? '' : ' unmapped'}${pins ? ` pins=${pins}` : ''}${this.pt.isDirty(Number(pfn)) ? ' dirty' : ''}`;
    }
    return { lockedVm: { now: this.lockedVm(), base: this.d.base }, pages, pins: this.outstanding() };
  }
}
