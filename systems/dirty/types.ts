/**
 * The data of the `dirty` system: io-pgtable-arm descriptors and tables, SMMU TLB entries, iommufd
 * areas, the workload, and the configuration every thread reads. Model units: IOVA and PA are in
 * model pages (one bit of the dirty bitmap each); `pageBytes` is used only for byte metrics.
 *
 * Kernel sources: K = 6.17-rc (Kingxukai/linux @9b44fff655e2), T = torvalds/linux iova_bitmap.c
 * v6.8-era; see docs/dirty.md and ../notes/dirty.md §1 for the facts (F1..F18) cited below.
 */

/**
 * An io-pgtable-arm descriptor (drivers/iommu/io-pgtable-arm.c, K). VALID and AF are implied for
 * leaves and tables; the TYPE bit follows from `t` and the level.
 *  - leaf: `dbm` = DBM (bit 51), `ro` = AP_RDONLY (AP[2], bit 7), `nT` = bit 16 (BBML1, seed only).
 *    HTTU encoding (F1): writable-dirty = DBM && !AP_RDONLY; writable-clean = DBM && AP_RDONLY;
 *    read-only = !DBM && AP_RDONLY.
 *  - table: `ign7` and `ign51` are the IGNORED bits at the positions of AP_RDONLY and DBM: zero with
 *    real encodings (`tableIgnoredBits=zero`), random to make a walker that tests tables visible.
 */
export type Pte =
  | { t: 'inv' }
  | { t: 'leaf'; pa: number; dbm: boolean; ro: boolean; nT: boolean }
  | { t: 'table'; next: string; ign7: boolean; ign51: boolean };

export const INV: Pte = { t: 'inv' };

/** iopte_writeable_dirty(): DBM set, AP_RDONLY clear. */
export function writeableDirty(p: Pte): boolean {
  return p.t === 'leaf' && p.dbm && !p.ro;
}

/** The same test applied to a table descriptor's IGNORED bits (what a walker that visits tables as leaves reads). */
export function tableLooksDirty(p: Pte): boolean {
  return p.t === 'table' && p.ign51 && !p.ign7;
}

/** Short text of a descriptor for observations and the inspector: "B pa16 D", "P pa3 C nT", "T5", "-". */
export function pteText(p: Pte, lvl: number, levels: number): string {
  if (p.t === 'inv') return '-';
  if (p.t === 'table') return `T:${p.next}${p.ign51 ? ' i51' : ''}${p.ign7 ? ' i7' : ''}`;
  const state = !p.dbm ? 'RO' : p.ro ? 'C' : 'D';
  return `${lvl === levels ? 'P' : 'B'} pa${p.pa} ${state}${p.nT ? ' nT' : ''}`;
}

/** One page-table page. `base` is the IOVA of entry 0; entries cover `entrySize(lvl)` pages each. */
export interface TableObj {
  lvl: number;
  base: number;
  entries: Pte[];
  /** Installed in a live slot (reachable from the root). */
  linked: boolean;
  freed: boolean;
  /** The kernel path that allocated it. */
  by: string;
  /** IGNORED bits of the table descriptor that will point at it (tableIgnoredBits=random). */
  ignored?: { ign7: boolean; ign51: boolean };
}

/** Table shape: `levels` levels (L1 root .. L`levels` pages), `fanout` entries per table. */
export interface Geometry {
  levels: number;
  fanout: number;
}

/** Pages covered by one entry at level `lvl` (ARM_LPAE_BLOCK_SIZE). */
export function entrySize(g: Geometry, lvl: number): number {
  return g.fanout ** (g.levels - lvl);
}

/** ARM_LPAE_LVL_IDX(addr, lvl). */
export function lvlIdx(g: Geometry, addr: number, lvl: number): number {
  return Math.floor(addr / entrySize(g, lvl)) % g.fanout;
}

/** Pages of IOVA space the table covers (the root's span). */
export function ioSpace(g: Geometry): number {
  return g.fanout ** g.levels;
}

/**
 * iommu_pgsize() over a pgsize bitmap of every entry size below the root's span (or pages only):
 * the largest leaf size that `iova` is aligned to and that fits in `pages`.
 */
export function pgsizeFor(g: Geometry, iova: number, pages: number, huge: boolean): number {
  let best = 1;
  if (!huge) return 1;
  for (let lvl = g.levels; lvl >= 1; lvl--) {
    const s = entrySize(g, lvl);
    if (iova % s === 0 && s <= pages) best = s;
  }
  return best;
}

/** Level whose entries are `size` pages. */
export function levelOf(g: Geometry, size: number): number {
  for (let lvl = 1; lvl <= g.levels; lvl++) if (entrySize(g, lvl) === size) return lvl;
  throw new Error(`no level has ${size}-page entries`);
}

/**
 * A cached translation in the SMMU TLB. Block entries cover their whole leaf. `src` is the
 * descriptor the walk read (what the HTTU dirty update writes back to). `dirty` is the dirty
 * state cached with the entry (tlbCachesDirty): a write through a dirty entry updates no PTE.
 */
export interface TlbEntry {
  base: number;
  size: number;
  lvl: number;
  pa: number;
  writable: boolean;
  dirty: boolean;
  src: { table: string; idx: number };
  filledAt: number;
}

export const tlbSpan = (e: TlbEntry): [number, number] => [e.base, e.base + e.size];

/**
 * struct iopt_area, as far as dirty tracking sees it (drivers/iommu/iommufd/io_pagetable.c, K).
 * Locking: membership in the area tree, `pagesSet` (area->pages != NULL) and `state` are written
 * under iova_rwsem held for write, and read under it held for read (GET, SET, the splitter with
 * splitLock=iova-read) - asserted by the dirty-reader-exclusion monitor. `revoked` is the VMM's
 * own bookkeeping (userspace: the guest gave the memory up), never read by a kernel path.
 */
export interface Area {
  id: string;
  iova: number;
  pages: number;
  pa: number;
  state: 'filling' | 'live' | 'unfilling';
  pagesSet: boolean;
  revoked: boolean;
}

export interface AreaSpec {
  id: string;
  iova: number;
  pages: number;
  pa: number;
}

/** One operation of the VMM's migration thread (userspace, through iommufd ioctls). */
export type VmmOp =
  | { op: 'MAP'; area: string }
  | { op: 'UNMAP'; area: string }
  | { op: 'SET_DIRTY'; enable: boolean }
  | { op: 'GET'; range: 'areas' | { iova: number; pages: number }; noClear: boolean }
  | { op: 'QUIESCE' };

/** One operation of the hotplug thread (guest memory unplug / vIOMMU unmap). */
export type HotplugOp = { op: 'WAIT_TRACKING' } | { op: 'HOTUNPLUG'; area: string } | { op: 'UNMAP_PARTIAL'; iova: number; pages: number };

/** One DMA of the device (or the point where it waits for tracking to be on). */
export type DevOp = { op: 'WRITE' | 'READ'; page: number } | { op: 'WAIT_TRACKING' };

/** The workload: JSON data, drawn by drawWorkload() or written by hand. */
export interface DirtyWorkload {
  areas: AreaSpec[];
  vmm: VmmOp[];
  hotplug: HotplugOp[];
  dev: DevOp[];
  /** Byte offset of each actor's user bitmap in its page. */
  bitmap: Record<string, { offset: number }>;
}

/** The parameters every thread reads, fixed for a run. */
export interface DirtyCfg {
  levels: number;
  fanout: number;
  hugePages: boolean;
  split: 'none' | 'recursive' | 'straight';
  bbml: number;
  flush: 'end' | 'perBlock';
  splitWhen: 'enable' | 'background';
  splitLock: 'vfio' | 'iova-read';
  splitGuard: 'seed' | 'intended';
  bitmap: 'dynamic' | 'chunked';
  bmPageBytes: number;
  chunkPages: number;
  tlbCachesDirty: boolean;
  tableIgnoredBits: 'zero' | 'random';
  faultRate: number;
  getRetries: number;
  /** The vfio mutex is in use: split != none and splitLock = vfio. */
  vfio: boolean;
}

export const LOCK_IOVA = 'dirty.iova_rwsem';
export const LOCK_DOMAINS = 'dirty.domains_rwsem';
export const LOCK_VFIO = 'dirty.vfio_lock';

/** Shared-state piece names. */
export const PT = 'dirty.pgtable';
export const TLB = 'dirty.tlb';
export const IOPT = 'dirty.iopt';
export const UBUF = 'dirty.ubuf';
