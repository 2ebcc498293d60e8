/**
 * The iommufd structures the model keeps, as plain data (snapshot- and hash-able), with the lock
 * that protects each field, as drivers/iommu/iommufd/io_pagetable.h documents them (6.17-rc; the
 * older trees where a variant needs them). Units are pages throughout: an IOVA, a uptr and an
 * index are page numbers, and every area has page_offset 0.
 *
 * Lock names (the run's lock table): `ioas<K>.mutex` (ioas->mutex, hwpt_list), `ioas<K>.domains`
 * (iopt->domains_rwsem), `ioas<K>.iova` (iopt->iova_rwsem), `<P>.mutex` (pages->mutex),
 * `ictx.xa_lock` (the objects xarray's spinlock), `<obj>.destroy_rwsem` (v6.2 obj->destroy_rwsem).
 * Order (lockdep): ioas.mutex -> domains_rwsem -> iova_rwsem -> pages->mutex -> xa_lock, and
 * destroy_rwsem -> xa_lock.
 */

export const SYSTEM = 'iommufd-flush';
export const STATE = 'iommufd';
export const CACHE = 'cpu-cache';

export const ioasMutex = (k: number) => `ioas${k}.mutex`;
export const domainsLock = (k: number) => `ioas${k}.domains`;
export const iovaLock = (k: number) => `ioas${k}.iova`;
export const pagesMutex = (p: string) => `${p}.mutex`;
export const XA_LOCK = 'ictx.xa_lock';
export const destroyRwsem = (obj: string) => `${obj}.destroy_rwsem`;

/**
 * struct iopt_area. Ownership: created by the MAP/COPY/split path that inserts it, freed by
 * iopt_abort_area() (unmap, failed map) or by iopt_area_split() (kfree of the split area).
 */
export interface Area {
  id: string;
  ioas: number;
  /** node: [iova, last] in iopt->area_itree.                                 iova_rwsem (W to change) */
  iova: number;
  last: number;
  /** The iopt_pages this area takes its PFNs from (elm->pages); the model's name for the slice. */
  p: string;
  /** area->pages: NULL while the area is being set up or torn down.             iova_rwsem W */
  pages: string | null;
  /** pages_node: [start, lastIdx] index range in P; in P's domains_itree iff filled. pages->mutex */
  start: number;
  lastIdx: number;
  /** area->storage_domain: the domain the PFNs are read back from.             pages->mutex */
  storage: string | null;
  /** storage-hint policy only: whether storage_domain is non-coherent.         pages->mutex */
  storageNc: boolean;
  /** num_accesses: writers hold pages->mutex and iova_rwsem (read or write).   pages->mutex */
  numAccesses: number;
  /** prevent_access: set by unmap before notifying the access drivers.         iova_rwsem W */
  preventAccess: boolean;
  freed: boolean;
}

/** A node of P's domains_itree: an area's pages_node (start/last are the node's own fields). */
export interface ItreeNode {
  area: string;
  start: number;
  last: number;
}

/** struct iopt_pages_access: a node of P's access_itree. Owned by P, freed at users == 0. */
export interface AccessNode {
  start: number;
  last: number;
  users: number;
}

/**
 * struct iopt_pages. Shared by every area made from it (IOAS_COPY, splits); each holds a kref.
 * Ownership: the MAP that allocated it holds the first reference; every area made by COPY or a
 * split takes one; iopt_put_pages() releases it, and the last put frees it (iopt_release_pages).
 */
export interface Pages {
  id: string;
  /** uptr in user pages; npages. Immutable after alloc. */
  uptr: number;
  npages: number;
  writable: boolean;
  /** kref: atomic. */
  kref: number;
  /** npinned / last_npinned (locked_vm accounting has caught up to last_npinned). pages->mutex */
  npinned: number;
  lastNpinned: number;
  /** pinned_pfns xarray: index -> pfn.                              pages->mutex (+ xa_lock) */
  xarray: Record<number, number>;
  /** access_itree.                                                                pages->mutex */
  accessItree: AccessNode[];
  /** domains_itree: the filled areas' pages_nodes, in insertion order.          pages->mutex */
  domainsItree: ItreeNode[];
  /** seed: pages->cache_flush_required (sticky once set).                       pages->mutex */
  flag: boolean;
  /** per-fill, sticky-lazy: "some PFN of these pages reached a non-coherent domain". pages->mutex */
  sticky: boolean;
  /** per-span: number of non-coherent IOPTEs mapping each index, and "not flushed since". pages->mutex */
  ncMaps: Record<number, number>;
  ncDirty: Record<number, boolean>;
  freed: boolean;
}

/** One IOPTE: the page frame and, for the monitors, which P index it came from. */
export interface Pte {
  pfn: number;
  p: string;
  idx: number;
}

/**
 * An iommu_domain of a paging HWPT. `nc` is !hwpt_paging->enforce_cache_coherency, fixed at
 * HWPT alloc in 6.17 (hw_pagetable.c: "configured here and unchanged later").
 * `ptes` are written by paths that hold the area's pages->mutex, or domains_rwsem W and
 * iova_rwsem W (iopt_unfill_domain's unmap, outside pages->mutex); devices read them with no lock.
 * Ownership: the HWPT object; freed by its destroy after iopt_table_remove_domain().
 */
export interface Domain {
  id: string;
  ioas: number;
  nc: boolean;
  dev: string | null;
  ptes: Record<number, Pte>;
  /** In iopt->domains (between xa_store and the erase).               domains_rwsem W to change */
  inIopt: boolean;
  freed: boolean;
}

/**
 * struct io_pagetable.
 */
export interface Iopt {
  id: number;
  /** iopt->domains in xarray index order (compressed by swap-erase); next_domain_id = length. domains_rwsem W */
  domains: string[];
  /** The areas, by id (the area_itree ordered by IOVA when iterated).       iova_rwsem W to change */
  areas: string[];
  /** disable_large_pages.                                                 domains_rwsem W + iova_rwsem W */
  disableLargePages: boolean;
  /** iopt->access_list.                                                   domains_rwsem W + iova_rwsem W */
  accessList: string[];
  /** seed: iopt->noncoherent_domain_cnt.                                 domains_rwsem W to change */
  ncCnt: number;
  /** ioas->hwpt_list.                                                     ioas->mutex */
  hwptList: string[];
}

/**
 * An object of the iommufd_ctx objects xarray (v6.2 main.c): `users` is obj->users (atomic,
 * changed under xa_lock by the destroy paths), `erased` means removed from the xarray.
 */
export interface KObject {
  id: string;
  type: 'hwpt' | 'access';
  ioas: number;
  users: number;
  erased: boolean;
  destroyed: boolean;
}

/** A per-actor record of the mutations one ioctl made, for the fail_nth atomicity check. */
export interface Journal {
  op: string;
  entries: Record<string, number>;
  fault: string | null;
}

export type Policy = 'none' | 'seed' | 'per-fill' | 'sticky-lazy' | 'storage-hint' | 'per-span';
export const POLICIES: Policy[] = ['none', 'seed', 'per-fill', 'sticky-lazy', 'storage-hint', 'per-span'];

/** Where a flush decision is taken. */
export type Hook = 'fill' | 'unmap' | 'storage' | 'unpin';

/** Which kernel path unpins (batch_unpin callers and the error unpins). */
export type UnpinPath = 'storage' | 'xarray' | 'reader' | 'err';

/** The observations this system makes (besides the heap vocabulary and the cache's). */
export type FlushObservations = {
  'iommu-map': { dom: string; nc: boolean; iova: number; pfn: number; pages: string; idx: number; op: string; opStart: number; line: { dirty: boolean; v: number; since: number } | null; tick: number };
  'iommu-unmap': { dom: string; nc: boolean; iova: number; pfn: number; pages: string; idx: number; tick: number };
  'flush-decision': { hook: Hook; pfn: number; pages: string; idx: number; decision: 'flush' | 'skip'; reason: string; dom?: string; nc?: boolean; last?: boolean };
  pin: { pfn: number; pages: string; idx: number; countAfter: number; tick: number };
  unpin: {
    pfn: number;
    pages: string;
    idx: number;
    path: UnpinPath;
    countAfter: number;
    error: string | null;
    line: { dirty: boolean; v: number; since: number } | null;
    mappedBy: string[];
    accessed: boolean;
    tick: number;
  };
  itree: { pages: string; problems: string[] };
  'ioctl-begin': { op: string; tick: number };
  'ioctl-end': { op: string; rc: number; fault: string | null; residual: string[] };
  'kernel-destroy': { obj: string; ok: boolean; users: number };
  warn: { where: string; detail: string };
  'might-sleep': { path: string };
};
