/**
 * Lock-omission variants of the mm side of IOPF handling: handle_mm_fault without mmap_lock,
 * and a PTE installed without the page-table lock. docs/mm.md tells for each what it is, the
 * interleaving that shows it, the fix and where it comes from.
 */
import { BUG_FAULT_INSTALL_WITHOUT_PTL, BUG_FAULT_WITHOUT_MMAP_LOCK } from '../../kernel/mm/handleMmFault.ts';
import type { BugVariant } from '../../core/model/scenario.ts';

export const mmBugs: BugVariant[] = [
  {
    name: BUG_FAULT_WITHOUT_MMAP_LOCK,
    summary:
      'iommu_sva_handle_mm() looks up the VMA and calls handle_mm_fault() without mmap_read_lock(): a munmap/mprotect (mmap_lock for write) frees, trims or downgrades the VMA between the lookup and the fault, which then dereferences a freed vm_area_struct and installs a PTE no VMA allows',
    reference:
      'the seed thread ("[PATCH v13 06/10] iommu: Add a page fault handler": mmap_read_lock around find_extend_vma and handle_mm_fault); mm/memory.c lock_mm_and_find_vma(); the VMA-lifetime bug class of CVE-2023-3269 (StackRot)',
    // More address-space changes per run: free mode needs them to land between a lookup and its fault.
    params: { mmOps: 6, iommufdDevices: 0, rebinds: 0, unplugRate: 0 },
    caughtBy: ['vma-use-after-free', 'pte-outside-vma'],
    provide: { 'iopf.kworker': { guards: { skipsMmapLock: () => true } } },
  },
  {
    name: BUG_FAULT_INSTALL_WITHOUT_PTL,
    summary:
      'handle_mm_fault() peeks at the PTE without the page-table lock and installs its page later without the locked pte_none() recheck: two kworkers faulting the same page both allocate, and the second set_pte overwrites the first page, which leaks',
    reference:
      'kernel commit 8f4e2101fd7d ("[PATCH] mm: page fault handler locking"): an unlocked peek at *pte must be followed by a locked pte_none/pte_same test; mm/memory.c do_anonymous_page()',
    // Fewer pages and more zaps: more first-touch faults of one page by two kworkers at once.
    params: { mmOps: 6, pages: 4, iommufdDevices: 0, rebinds: 0, unplugRate: 0 },
    caughtBy: ['no-lost-page'],
    provide: { 'iopf.kworker': { guards: { skipsPtl: () => true } } },
  },
];
