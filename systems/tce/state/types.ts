/**
 * Plain data of the SPAPR TCE model (arch/powerpc, drivers/vfio/vfio_iommu_spapr_tce.c, 6.17-rc).
 * Units: one IOMMU page == one PAGE_SIZE page. A user address (`ua`) is a page number of the
 * VMM's address space; a page frame (`pfn`) names host memory:
 *   - user pages: pfn = USER_PFN + ua (the VMM's anonymous memory, pinned by GUP);
 *   - DMA-API buffers of the host driver: KERNEL_PFN + n;
 *   - device memory (NVLink2 GPU RAM, no struct page): DEVMEM_PFN + n;
 *   - BOGUS_PFN: what the 2012 seed used after a failed get_user_pages_fast (an uninitialised page).
 */

export const USER_PFN = 100;
export const KERNEL_PFN = 200;
export const DEVMEM_PFN = 300;
export const BOGUS_PFN = 0;

/** TCE permission bits. W implies R in pnv_tce_xchg()/pnv_tce_build() ("if (newtce & TCE_PCI_WRITE) newtce |= TCE_PCI_READ"). */
export type Perm = 'R' | 'RW';
/** DMA direction as the ioctl / hcall gives it: TO_DEVICE = R, FROM_DEVICE = W, BIDIRECTIONAL = RW. */
export type Dir = 'R' | 'W' | 'RW';

export function permOf(dir: Dir): Perm {
  return dir === 'R' ? 'R' : 'RW';
}

/**
 * One TCE: the host page and permission. `src` is not a kernel field: it says which user put the
 * entry there (the VFIO v1 container's pin, a preregistered region for v2 and KVM, the DMA-API,
 * or the 2012 seed) so monitors can match entries to the references that keep their pages.
 */
export interface Tce {
  pfn: number;
  perm: Perm;
  src: 'v1' | 'v2' | 'dma' | 'seed';
  /** v2: the region the page belongs to when it was mapped (monitor bookkeeping). */
  region?: string;
}

/** A slot of a level page: a TCE (leaf level) or the id of the next level page (indirect). */
export type Slot = Tce | string | null;
/** A slot of the it_userspace mirror: the user address (leaf) or the next mirror level page. */
export type MirrorSlot = number | string | null;

export interface LevelPage {
  table: string;
  mirror: boolean;
  /** Levels below this one (0 = leaf level). */
  depth: number;
  slots: (Slot | MirrorSlot)[];
  freed: boolean;
  /** Installed in the table (reachable from the root) at some point. */
  installed: boolean;
}

export interface TableData {
  id: string;
  /** it_offset (in entries) and it_size: the DMA window [offset, offset + size). */
  offset: number;
  size: number;
  /** it_indirect_levels + 1 */
  levels: number;
  /** it_level_size */
  levelSize: number;
  /** Has it_userspace (VFIO-created tables: tce_iommu_create_table → create_table_userspace). */
  userspace: boolean;
  /** Created by the VFIO container (freed by it), as opposed to the kernel's default table. */
  vfio: boolean;
  /** Pages accounted to locked_vm at creation (tce_iommu_create_table) and unaccounted at free. */
  accounted: number;
  root: Slot[];
  mroot: MirrorSlot[];
  freed: boolean;
  /**
   * Entries written outside [0, size): iommu_tce_check_ioba() checks only the first entry, so a
   * MAP ending past the window writes past the table (6.17, derived). Kept so the damage is visible.
   */
  oob: Record<number, Tce>;
}

/** A preregistered region (struct mm_iommu_table_group_mem_t). */
export interface Region {
  id: string;
  ua: number;
  entries: number;
  /** Under mem_list_mutex. */
  used: number;
  /** atomic64: 1 = idle, 1 + N = N live TCEs, 0 = being released. */
  mapped: number;
  /** hpas[]/hpages[]: the pinned frames. */
  pfns: number[];
  /** Whether hpas[] holds struct page pointers ('page') or physical addresses ('phys'). */
  hpas: 'page' | 'phys';
  /** dev_hpa != MM_IOMMU_TABLE_INVALID_HPA (mm_iommu_newdev): GPU RAM, never pinned. */
  devmem: boolean;
  listed: boolean;
  freed: boolean;
}

/** A guest TCE in a guest page of TCEs (H_PUT_TCE_INDIRECT list): a user address and permission, or an untranslatable gpa. */
export interface GuestTce {
  ua: number | null;
  dir: Dir | 'NONE';
}

export type FacetName = 'tce.tables' | 'tce.cache' | 'tce.mem' | 'tce.prereg' | 'tce.container' | 'tce.pools' | 'tce.kvm';
export const FACETS: readonly FacetName[] = ['tce.tables', 'tce.cache', 'tce.mem', 'tce.prereg', 'tce.container', 'tce.pools', 'tce.kvm'];
