/**
 * Page pins and accounting behind the container (kernel/pins.ts PinTable), and the vendor
 * drivers' own records of what they pinned.
 *
 * - table: long-term GUP pins by pfn. Holder "map:<inst>" is the pin vfio_pin_pages_remote()
 *   takes for the IOMMU mapping of a page (one per mapped page while a domain exists); holder
 *   "vpfn:<inst>" is the pin vfio_pin_page_external() takes for a vpfn (one per vpfn, whatever
 *   its ref_count). locked_vm is accounted under the owner "vm". In these paths all of it is
 *   written with iommu->lock held (vfio_lock_acct takes mmap_lock inside it).
 * - driver[dev][page]: how many times the driver of `dev` pinned `page` through vfio_pin_pages and
 *   has not unpinned it. The driver's own lock protects it in the kernel (e.g. gvt's cache_lock,
 *   also taken by its dma_unmap callback); the model writes it only in steps that hold
 *   iommu->lock (the pin's last step, unpin, the dma_unmap callback, close), which orders it the
 *   same way against the callback.
 * - invalid[dev]: dma instances the driver received a dma_unmap callback for; it never pins
 *   them again (vendor drivers invalidate the range).
 * Ownership: a vpfn pin is owned by the vfio_dma until its ref_count drops to 0; a driver entry
 * by the driver until it calls vfio_unpin_pages.
 */
import type { SharedPort, SharedState } from '../../../core/model/shared.ts';
import type { Observation } from '../../../core/model/effects.ts';
import { PinTable, type PinTableState } from '../../../kernel/pins.ts';
import { PINS } from '../types.ts';

export const VM = 'vm';

export interface PinData {
  table: PinTableState;
  driver: Record<string, Record<string, number>>;
  invalid: Record<string, string[]>;
}

export class PinState implements SharedState {
  readonly name = PINS;
  table: PinTable;
  private port: SharedPort | null = null;

  constructor(public s: PinData) {
    this.table = new PinTable(s.table);
  }

  connect(port: SharedPort): void {
    this.port = port;
  }

  observe(o: Observation): void {
    this.port?.observe(o);
  }

  /** The driver table of `dev` (created empty). */
  driverOf(dev: string): Record<string, number> {
    return (this.s.driver[dev] ??= {});
  }

  held(dev: string, page: string): number {
    return this.s.driver[dev]?.[page] ?? 0;
  }

  snapshot(): unknown {
    return structuredClone({ ...this.s, table: this.table.s });
  }

  restore(s: unknown): void {
    this.s = structuredClone(s as PinData);
    this.table = new PinTable(this.s.table);
  }

  canonical(): unknown {
    return { table: this.table.canonical(), driver: this.s.driver, invalid: this.s.invalid };
  }

  view(): unknown {
    return { gup: this.table.canonical(), lockedVm: this.table.lockedVm(VM), driver: this.s.driver };
  }
}
