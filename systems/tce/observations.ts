/**
 * What the TCE model reports to its monitors. Shared-state pieces report the state changes they
 * make (a TCE exchanged, a level installed, a pin dropped); thread machines report path exits,
 * sleeps and RCU sections. Monitors read them typed with `observed<TceObservations, K>`.
 */
import type { HeapObservations } from '../../core/model/observations.ts';
import type { Tce } from './state/types.ts';

export interface TceObservations extends HeapObservations {
  /** A TCE changed (xchg, build, free). `entry` is the bus page number (it_offset + index). */
  'tce-set': { table: string; entry: number; index: number; old: Tce | null; new: Tce | null; by: string; inWindow: boolean };
  /** iommu_tce_kill / tce_flush / a PE invalidation: [start, start + n) of the TCE cache invalidated. */
  kill: { table: string; start: number; n: number; by: string };
  /** An indirect level page installed into a slot (pnv_tce: cmpxchg, or a plain store before 56090a3902c8). */
  'level-install': { table: string; mirror: boolean; slot: string; level: string; prev: string | null; mode: 'cmpxchg' | 'store'; won: boolean };
  'level-alloc': { table: string; mirror: boolean; level: string };
  'level-free': { table: string; mirror: boolean; level: string; reachable: boolean };
  /** pin_user_pages / FOLL_LONGTERM pin: `pins` is the page's pin count after. */
  pin: { pfn: number; holder: string; pins: number };
  /** unpin_user_page / put_page. `value` is what the kernel passed: a page, or (c4b78169e366) a physical address. */
  unpin: { pfn: number; holder: string; pins: number; value: 'page' | 'phys'; missing?: boolean };
  'set-dirty': { pfn: number; devmem: boolean; by: string };
  /** A user page freed (no pin, no user mapping) or a DMA-API buffer freed by its driver. */
  'page-free': { pfn: number };
  /** A device DMA through the TCE cache or a table walk. */
  dma: { entry: number; pfn: number | null; access: 'R' | 'W'; hit: boolean; ok: boolean; pageState: string; pins: number };
  /** mm_iommu_mapped_inc/dec and the release cmpxchg: `mapped` after. */
  mapped: { region: string; op: 'init' | 'inc' | 'dec' | 'inc-fail' | 'release' | 'release-busy'; mapped: number; by: string };
  /** Region list and refcount (mem_list_mutex). */
  region: { region: string; op: 'listed' | 'unlisted' | 'get' | 'put' | 'freed'; used: number; by: string };
  /** tcemem (tce_iommu_prereg) added to or removed from the container's prereg_list. */
  tcemem: { region: string; op: 'add' | 'del' };
  /** it_map bits written: `locks` held by the writer at that moment. */
  itmap: { op: 'set' | 'clear' | 'fill' | 'empty'; start: number; n: number; locks: string[]; by: string };
  /** DMA-API ownership changes hands (take: VFIO owns; release: back to the kernel). */
  own: { op: 'take' | 'release' | 'take-busy'; owner: 'kernel' | 'vfio'; liveMappings: number; by: string };
  /** iommu_alloc()/iommu_free() by a DMA-API user: the range and whether it succeeded. */
  'dma-map': { op: 'map' | 'unmap'; start: number; n: number; ok: boolean; owner: 'kernel' | 'vfio' };
  /** account_locked_vm(): `delta` pages, `now` after. */
  account: { delta: number; now: number; base: number; reason: string };
  /** A thread leaves an ioctl or hcall path. */
  'path-exit': { thread: string; path: string; ret: number; rcu: number };
  'rcu-lock': { thread: string; depth: number };
  'rcu-unlock': { thread: string; depth: number };
  /** A GFP_KERNEL allocation, a mutex, GUP's slow path: the step may sleep. */
  'might-sleep': { path: string; thread?: string };
  /** get_user / copy_from_user: the step may fault on user memory. */
  'might-fault': { path: string; thread?: string };
  /** A MAP returned: with overlap policy EBUSY it must not have changed a live entry. */
  'map-result': { thread: string; start: number; n: number; ret: number; replaced: number };
  /** kmalloc on a map/unmap path (the seed's oldpages[]). */
  kmalloc: { path: string; size: string; failed: boolean };
}

export type TceObs = keyof TceObservations & string;
