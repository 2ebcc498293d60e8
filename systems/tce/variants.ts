/**
 * TCE bug variants. Each substitutes named guards of the thread machines (machines/user.ts,
 * vcpu.ts, dma.ts): the fixed model's value is the kernel today, or the corrected order where
 * reading 6.17 found the kernel wrong (those variants say "derived from the code"). docs/tce.md
 * gives each one's interleaving and fix.
 */
import type { BugVariant, MachineSubstitution } from '../../core/model/scenario.ts';

const off = (...names: string[]): MachineSubstitution => ({ guards: Object.fromEntries(names.map((n) => [n, () => false])) });
const on = (...names: string[]): MachineSubstitution => ({ guards: Object.fromEntries(names.map((n) => [n, () => true])) });
const SEED = { mapPath: 'seed', version: 'v1', ownership: 'itmap', levels: 1, vcpus: 0 } as const;

export const tceBugs: BugVariant[] = [
  {
    name: 'seed-missing-return-after-gup',
    summary:
      "2012 seed put_tce(): get_user_pages_fast() fails but the code goes on (\"Missing return ret?\"): tce_build() maps page_address() of an unset page pointer; the TCE points at garbage the container never pinned",
    reference: 'seed thread "[PATCH] vfio powerpc: enabled and supported on powernv platform" (Nov 2012), Alex Williamson\'s review of put_tce(); never merged in that form',
    params: { ...SEED, gupFailRate: 0.2 },
    caughtBy: ['pin-balance', 'no-dma-to-freed-page'],
    provide: { 'tce.user': off('seedReturnOnGupFail') },
  },
  {
    name: 'seed-kmalloc-and-silent-overlap',
    summary:
      'the seed as posted: every multi-page iommu_put_tces() kmallocs an oldpages[] buffer, and a MAP over live entries silently releases the guest\'s pages and replaces them instead of failing (the reviewed map-only path scans and returns -EBUSY without allocating)',
    reference: 'seed thread (Nov 2012): Alex Williamson, "I was mostly concerned about the kmalloc in your mapping path" and "nervous that we\'re silently doing fixups on user parameters"',
    params: { ...SEED },
    caughtBy: ['map-overlap-policy'],
    provide: { 'tce.user': off('seedMapOnly') },
  },
  {
    name: 'seed-gup-under-spinlock',
    summary: 'the seed as posted calls get_user_pages_fast() (which may fall back to the sleeping slow path) while holding the pool spinlock',
    reference: 'seed thread (Nov 2012): put_tce() called from iommu_put_tces() inside spin_lock(&pool->lock)',
    params: { ...SEED },
    caughtBy: ['lockdep'],
    provide: { 'tce.user': off('seedGupOutsideLock') },
  },
  {
    name: 'tce-level-alloc-race',
    summary:
      'pnv_tce() installs a newly allocated indirect level with a plain store: two mappers that both found the slot empty both allocate, and the second overwrites the first, losing its level page and the TCEs already written into it (EEH on the next DMA)',
    reference: 'kernel commit 56090a3902c8 "powerpc/powernv/ioda: Fix race in TCE level allocation" (v5.4; Fixes a68bd1267b72, on-demand levels), arch/powerpc/platforms/powernv/pci-ioda-tce.c pnv_tce()',
    params: { levels: 2, dmaThreads: 2 },
    caughtBy: ['one-level-page-per-slot'],
    provide: { 'tce.user': off('levelCmpxchg'), 'tce.vcpu': off('levelCmpxchg'), 'tce.dma': off('levelCmpxchg') },
  },
  {
    name: 'h-put-tce-indirect-toctou',
    summary:
      'H_PUT_TCE_INDIRECT validates the guest\'s TCE list, then reads it again to map; the guest rewrites an entry in between, kvmppc_tce_to_ua() fails in the second pass and the handler returns H_PARAMETER with kvm->srcu still read-locked',
    reference: 'kernel commit ddfd151f3def "KVM: PPC: Book3S: Fix incorrect guest-to-user-translation error handling" (v5.3; Fixes 121f80ba68f1), arch/powerpc/kvm/book3s_64_vio.c kvmppc_h_put_tce_indirect()',
    params: { version: 'v2', vcpus: 2, opsPerThread: 4 },
    caughtBy: ['no-lock-leak-on-exit'],
    provide: { 'tce.vcpu': off('indirectUnlockOnError') },
  },
  {
    name: 'mm-iommu-deadlock',
    summary:
      'REGISTER_MEMORY holds mem_list_mutex across account_locked_vm() and pin_user_pages() (mmap_lock), while the NVLink2 GPU ->mmap() holds mmap_lock and takes mem_list_mutex (mm_iommu_newdev): ABBA',
    reference: 'kernel commit eb9d7a62c386 "powerpc/mm_iommu: Fix potential deadlock" (v5.1), arch/powerpc/mm/book3s64/iommu_api.c mm_iommu_do_alloc()',
    params: { version: 'v2', nvgpu: true },
    caughtBy: ['lockdep', 'no-lock-leak-on-exit'],
    provide: { 'tce.user': on('allocUnderListMutex') },
  },
  {
    name: 'mm-iommu-put-page-on-phys',
    summary:
      'mm_iommu_do_alloc() converts hpages[] to physical addresses before its last failure point (the overlap check under mem_list_mutex); that failure\'s free_exit then unpins the physical addresses as if they were struct page pointers',
    reference: 'kernel commit c4b78169e366 "powerpc/book3s64: Fix error handling in mm_iommu_do_alloc()" (v5.7; Fixes eb9d7a62c386, Reported-by Jan Kara), arch/powerpc/mm/book3s64/iommu_api.c',
    params: { version: 'v2' },
    caughtBy: ['unpin-valid-page'],
    provide: { 'tce.user': off('physConvertAfterCheck') },
  },
  {
    name: 'unpin-before-kill',
    summary:
      'the 6.17 order: tce_iommu_clear()/tce_iommu_build*() unpin each old page (v1) or mapped_dec its region (v2, and KVM) inside the loop and invalidate the TCE cache once after it; in between the device can still DMA through the cached entry into a page already given back',
    reference:
      'derived from the code: drivers/vfio/vfio_iommu_spapr_tce.c tce_iommu_clear()/tce_iommu_build() (6.17-rc, Kingxukai/linux 9b44fff655e2); the order came with "vfio/spapr_tce: Invalidate multiple TCEs at once" (v5.4, 2019)',
    params: { version: 'v1' },
    caughtBy: ['no-unpin-while-cached', 'no-dma-to-freed-page'],
    provide: { 'tce.user': off('releaseAfterKill'), 'tce.vcpu': off('releaseAfterKill') },
  },
  {
    name: 'unregister-ebusy-swallowed',
    summary:
      'the 6.17 order: UNREGISTER of a still-mapped region drops the tcemem reference first (used 2→1, tcemem freed), then the lookup reference (1→0, cmpxchg(mapped,1,0) fails, used back to 1, -EBUSY ignored) and returns 0: the region is orphaned, pinned forever',
    reference: 'derived from the code: drivers/vfio/vfio_iommu_spapr_tce.c tce_iommu_unregister_pages() (6.17-rc, Kingxukai/linux 9b44fff655e2) with mm_iommu_put()',
    params: { version: 'v2' },
    caughtBy: ['prereg-refcount', 'no-leak-on-release'],
    provide: { 'tce.user': off('unregisterPutLookupFirst') },
  },
  {
    name: 'register-tcemem-orphan',
    summary:
      'the 6.17 REGISTER lists the new region (mm_iommu_new) before it allocates the tcemem; a MAP in another thread (no container->lock) finds and maps the region; the tcemem kzalloc fails, put_exit\'s mm_iommu_put() meets mapped > 1, returns -EBUSY (ignored): the region stays listed with used=1 and no container reference, pinned forever',
    reference: 'derived from the code: drivers/vfio/vfio_iommu_spapr_tce.c tce_iommu_register_pages() put_exit (6.17-rc, Kingxukai/linux 9b44fff655e2) with mm_iommu_put()',
    params: { version: 'v2', allocFailRate: 0.15 },
    caughtBy: ['prereg-refcount', 'no-leak-on-release'],
    provide: { 'tce.user': off('tcememFirst') },
  },
  {
    name: 'window-range-unchecked',
    summary: 'the 6.17 check: iommu_tce_check_ioba() ignores npages, so MAP/UNMAP check only the first entry: a MAP ending past the window writes TCEs past the end of the table',
    reference: 'derived from the code: arch/powerpc/kernel/iommu.c iommu_tce_check_ioba() and asm/iommu.h iommu_tce_put_param_check (6.17-rc, Kingxukai/linux 9b44fff655e2)',
    params: {},
    caughtBy: ['entries-in-window'],
    provide: { 'tce.user': off('rangeInWindow') },
  },
  {
    name: 'default-window-race',
    summary:
      'the 6.17 MAP/UNMAP create the pending default window without container->lock: two threads both see def_window_pending, both create a table for slot 0, the second overwrites tables[0]; the first table and its locked_vm leak',
    reference: 'derived from the code: drivers/vfio/vfio_iommu_spapr_tce.c tce_iommu_ioctl(VFIO_IOMMU_MAP_DMA/UNMAP_DMA) → tce_iommu_create_default_window() (6.17-rc, Kingxukai/linux 9b44fff655e2)',
    params: { userThreads: 2, ddw: false },
    caughtBy: ['locked-vm-balance', 'no-leak-on-release'],
    provide: { 'tce.user': off('defaultWindowLocked') },
  },
  {
    name: 'v2-xchg-fail-mapped-leak',
    summary:
      'the 6.17 v2 build undoes a failed xchg (-ENOMEM, GFP_ATOMIC level) with tce_iommu_unuse_page_v2(entry + i), whose pua was never written: it decrements the region at user address 0, if any, instead of the one it incremented',
    reference: 'derived from the code: drivers/vfio/vfio_iommu_spapr_tce.c tce_iommu_build_v2() (6.17-rc, Kingxukai/linux 9b44fff655e2); KVM\'s kvmppc_tce_iommu_do_map does mm_iommu_mapped_dec(mem)',
    params: { version: 'v2', allocFailRate: 0.2, opsPerThread: 4 },
    caughtBy: ['region-mapped-count'],
    provide: { 'tce.user': off('xchgFailDecMapped') },
  },
  {
    name: 'v2-lookup-outside-rcu',
    summary:
      'the 6.17 v2 build (and KVM\'s do_map) use the region mm_iommu_lookup() returned after the lookup dropped rcu_read_lock: a concurrent UNREGISTER can release it and its RCU callback free it before mm_iommu_mapped_inc()',
    reference: 'derived from the code: arch/powerpc/mm/book3s64/iommu_api.c mm_iommu_lookup() and drivers/vfio/vfio_iommu_spapr_tce.c tce_iommu_build_v2() (6.17-rc)',
    params: { version: 'v2' },
    caughtBy: ['no-use-after-free'],
    provide: { 'tce.user': off('lookupUnderRcu'), 'tce.vcpu': off('lookupUnderRcu') },
  },
  {
    name: 'ownership-without-pool-locks',
    summary:
      'iommu_take_ownership() checks and fills it_map without large_pool.lock and the pool locks: a DMA-API allocation between the check and the fill leaves a live kernel mapping in a table VFIO now owns',
    reference: 'kernel commit b82c75bfbeb5 "powerpc/iommu: Fix IOMMU ownership control functions" (v4.2), arch/powerpc/kernel/iommu.c iommu_take_ownership()',
    params: { ownership: 'itmap', dmaThreads: 2 },
    caughtBy: ['ownership-exclusive'],
    provide: { 'tce.user': off('ownershipLocked') },
  },
  {
    name: 'dirty-on-devmem',
    summary: 'iommu_tce_xchg() marks the old page dirty without asking mm_iommu_is_devmem(): for NVLink2 GPU RAM it calls SetPageDirty(pfn_to_page()) on memory with no struct page',
    reference: 'kernel commit c10c21efa4bc "powerpc/vfio/iommu/kvm: Do not pin device memory" (v5.0), arch/powerpc/kernel/iommu.c iommu_tce_xchg()',
    params: { version: 'v2', nvgpu: true },
    caughtBy: ['dirty-before-unpin'],
    provide: { 'tce.user': off('dirtySkipsDevmem'), 'tce.vcpu': off('dirtySkipsDevmem') },
  },
];
