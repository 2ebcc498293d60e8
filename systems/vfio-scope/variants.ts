/**
 * The variants of the VFIO pinned-page dirty-scope model. The fixed model is 6.17-rc type1 with
 * the 6.1+ vfio core (no singleton check, 21c13829bc3b: only emulated devices pin, and an
 * emulated group is a singleton by construction), with two derived fixes (update_user_bitmap
 * shifts a scratch copy; the unmap notify window takes device_list_lock only after dropping
 * iommu->lock), and, for the seed's world of IOMMU-backed pinners (`pinners=iommu|both`), the
 * best design the thread reached: refuse joins while pinned (`singleton=refuse-join`, Alex's
 * proposal, never merged) plus the derived promotion fix (a promotion while tracking populates
 * every bitmap). Each variant puts back one older or alternative behaviour by substituting a
 * named guard (machines/*.ts); `reference` names the code, the commit and the kernel versions
 * whose semantics it assumes. docs/vfio-scope.md tells each one's interleaving and fix.
 */
import type { BugVariant } from '../../core/model/scenario.ts';

const no = () => false;

export const vfioScopeBugs: BugVariant[] = [
  {
    name: 'join-after-pin',
    summary:
      'a device joins an IOMMU-backed group already in pinned scope: only the pin-time singleton check exists, nothing refuses the join. The new device DMAs anywhere, yet with every group in scope GET reports only the pinned pages',
    reference:
      'seed thread (Alex Williamson: "vfio.c would therefore also need to set a field ... such that vfio_add_group_dev() could return error if a new device attempts to join the group"); never implemented. 95fc87b44104 (v5.8) added only the pin-time dev_counter check in vfio_pin_pages; semantics v5.8-v6.0 with an IOMMU-backed pinner (vfio_group_create_device unchecked)',
    params: { singleton: 'refuse-join', pinners: 'iommu', iommuGroups: 1, mdevs: 0, joins: 1, devicesPerGroup: 1 },
    caughtBy: ['singleton', 'no-lost-dirty'],
    provide: { 'vfio-scope.pdev': { guards: { refusesJoinWhilePinned: no } } },
  },
  {
    name: 'singleton-check-race',
    summary:
      'refuse-join built on the v5.8 check: dev_counter is read without device_lock and the has-pinned flag set only when the pin returns; a device joining in between passes the join check, and the pin promotes a group that now has two devices',
    reference:
      'derived from the code: drivers/vfio/vfio.c vfio_pin_pages (v5.8-v6.0) reads group->dev_counter with no lock while vfio_group_create_device changes it under group->device_lock; refuse-join as the seed proposes it, with that check',
    params: { singleton: 'refuse-join', pinners: 'iommu', iommuGroups: 1, mdevs: 0, joins: 1, devicesPerGroup: 1 },
    caughtBy: ['singleton', 'no-lost-dirty'],
    provide: {
      'vfio-scope.pdev': { guards: { checkHoldsDeviceLock: no } },
      'vfio-scope.mdev': { guards: { checkHoldsDeviceLock: no } },
    },
  },
  {
    name: 'missed-group-put',
    summary: "vfio_pin_pages' singleton check returns -EINVAL after vfio_group_get_from_dev without vfio_group_put: the group's refcount leaks on every refused pin",
    reference: 'drivers/vfio/vfio.c vfio_pin_pages: introduced by 95fc87b44104 (v5.8), fixed by 28b130244061 "vfio: fix a missed vfio group put in vfio_pin_pages" (v5.9-rc, stable 5.8.y)',
    params: { singleton: 'pin-only', pinners: 'iommu', iommuGroups: 1, mdevs: 0, devicesPerGroup: 2, joins: 0 },
    caughtBy: ['group-ref-balance'],
    provide: {
      'vfio-scope.pdev': { guards: { putsGroupOnCheckFailure: no } },
      'vfio-scope.mdev': { guards: { putsGroupOnCheckFailure: no } },
    },
  },
  {
    name: 'detach-loses-dirty',
    summary:
      'a group not in pinned scope detaches while tracking and num_non_pinned_groups only drops: once every remaining group is in scope, the detached group\'s DMA since the last GET is never reported',
    reference:
      'drivers/vfio/vfio_iommu_type1.c vfio_iommu_type1_detach_group: d6a4c185660c / 95fc87b44104 (v5.8) updated only the scope; fixed by d0a78f91761f "vfio/iommu_type1: Populate full dirty when detach non-pinned group" (v5.12 cycle). Semantics v5.8-v5.11',
    params: { iommuGroups: 1, mdevs: 1, joins: 0, vmmOps: 2 },
    caughtBy: ['detach-populates-full', 'no-lost-dirty'],
    provide: { 'vfio-scope.vmm': { guards: { populatesFullOnDetach: no } } },
  },
  {
    name: 'dma-rw-count',
    summary: 'vfio_dma_rw sets copied >> pgshift bits from offset >> pgshift: a write that straddles a page boundary, or is shorter than a page, sets too few bits (none for 2 bytes at PAGE_SIZE-1)',
    reference: 'drivers/vfio/vfio_iommu_type1.c vfio_iommu_type1_dma_rw_chunk: introduced by d6a4c185660c (v5.8), fixed by 2c5af98592f6 "vfio/type1: fix dirty bitmap calculation in vfio_dma_rw" (v5.9-rc, stable 5.8.y)',
    params: { iommuGroups: 0, mdevs: 1, joins: 0, pinners: 'emulated' },
    caughtBy: ['dma-rw-exact', 'no-lost-dirty'],
    provide: { 'vfio-scope.mdev': { guards: { dmaRwCountsFromOffset: no } } },
  },
  {
    name: 'detach-early-return-skips-scope',
    summary:
      'a type1 detach refactor returns as soon as the domain still has other groups, before the dirty-scope update: num_non_pinned_groups stays high for a group that is gone and nothing is populated',
    reference:
      'review of Nicolin Chen\'s 2022 type1 attach/detach refactor (vfio_iommu_detach_destroy_domain: `if (!list_empty(&domain->group_list)) return;` before the scope update; the next revision used `goto out_dirty`). Base v5.19/v6.0; never merged (6.17 has no vfio_iommu_detach_destroy_domain)',
    params: { iommuGroups: 2, domainSharing: 'shared', joins: 0, vmmOps: 2 },
    caughtBy: ['scope-counter-exact', 'detach-populates-full'],
    provide: { 'vfio-scope.vmm': { guards: { scopeUpdateWhenDomainKeepsGroups: no } } },
  },
  {
    name: 'get-efault-shifted-bitmap',
    summary:
      'update_user_bitmap shifts dma->bitmap in place before copy_from_user/copy_to_user; on -EFAULT it returns before the clear and repopulate, leaving the bitmap shifted. The next GET shifts it again: bit i is reported as i+shift or falls off, and page i is lost',
    reference:
      'derived from the code: drivers/vfio/vfio_iommu_type1.c update_user_bitmap / vfio_iova_dirty_bitmap, 6.17-rc (bitmap_shift_left(dma->bitmap, dma->bitmap, ...)); present since 331e33d2960c (v5.8). Not reported upstream as far as we found',
    params: { iommuGroups: 0, mdevs: 1, joins: 0, dmas: 2, userFault: 0.3, retryGet: true, getRounds: 3 },
    caughtBy: ['no-lost-dirty'],
    provide: { 'vfio-scope.mig': { guards: { shiftsScratchCopy: no } } },
  },
  {
    name: 'unmap-notify-lock-order',
    summary:
      'vfio_notify_dma_unmap takes device_list_lock with iommu->lock held, drops iommu->lock and calls the drivers\' dma_unmap, whose vfio_unpin_pages takes iommu->lock under device_list_lock: AB-BA with itself, with a second UNMAP of a pinned dma, and with register_device (iommu->lock then device_list_lock)',
    reference:
      'derived from the code (verified in 6.17-rc): drivers/vfio/vfio_iommu_type1.c vfio_notify_dma_unmap and vfio_iommu_type1_register_device/unregister_device; since the iommu notifier became a device list (2022, v6.0). No upstream report found. Fix in the fixed model: device_list_lock -> iommu->lock everywhere (notify drops iommu->lock first; register takes device_list_lock first)',
    params: { mdevs: 1, pinners: 'emulated', vmmOps: 2 },
    caughtBy: ['lockdep', 'threads-finish'],
    provide: {
      'vfio-scope.vmm': { guards: { notifyDropsIommuLockFirst: no } },
      'vfio-scope.mdev': { guards: { registersListLockFirst: no } },
      'vfio-scope.pdev': { guards: { registersListLockFirst: no } },
    },
  },
  {
    name: 'pin-promotion-loses-dirty',
    summary:
      'an IOMMU-backed group\'s first pin promotes it to pinned scope and drops num_non_pinned_groups without setting any bit: DMA the device made before its first pin, since the last GET, is never reported',
    reference:
      'derived from the code: drivers/vfio/vfio_iommu_type1.c vfio_iommu_type1_pin_pages (the scope promotion after the loop), 95fc87b44104 (v5.8) to today; reachable only with IOMMU-backed pinners (v5.8-v6.0 IOMMU-backed mdevs). The fixed model populates every bitmap at a promotion while tracking, as d0a78f91761f does at detach',
    params: { singleton: 'refuse-join', pinners: 'iommu', iommuGroups: 1, mdevs: 0, joins: 0, devicesPerGroup: 1 },
    caughtBy: ['no-lost-dirty'],
    provide: { 'vfio-scope.pdev': { guards: { populatesOnPromotion: no } } },
  },
  {
    name: 'vpfn-alloc-leaks-pin',
    summary:
      'vfio_add_to_pfn_list fails (kzalloc) after vfio_pin_page_external pinned the page; the error path calls vfio_unpin_page_external, which finds no vpfn: the GUP pin and its locked_vm stay forever',
    reference:
      'drivers/vfio/vfio_iommu_type1.c vfio_iommu_type1_pin_pages: since the mdev pinning support (a54eb55045ae, v4.10; read in v4.19), fixed by 2e6cfd496f5b "vfio iommu type1: Fix memory leak in vfio_iommu_type1_pin_pages" (v5.10-rc1)',
    params: { allocFail: 0.3, mdevs: 1, pinners: 'emulated' },
    caughtBy: ['pin-balance'],
    provide: {
      'vfio-scope.mdev': { guards: { unpinsOnVpfnAllocFailure: no } },
      'vfio-scope.pdev': { guards: { unpinsOnVpfnAllocFailure: no } },
    },
  },
  {
    name: 'dev-counter-removed',
    summary:
      'configuration, not a code change: the 6.1+ vfio core (no singleton check) with an IOMMU-backed device that pins. With the check gone, only the driver contract ("only vfio_register_emulated_iommu_dev devices pin") keeps a multi-device group out of pinned scope',
    reference: '21c13829bc3b "vfio: Remove vfio_group dev_counter" (v6.1): vfio_pin_pages comment "A driver may only call this function if the vfio_device was created by vfio_register_emulated_iommu_dev()"',
    params: { singleton: 'none', pinners: 'iommu', iommuGroups: 1, mdevs: 0, devicesPerGroup: 2, joins: 1 },
    caughtBy: ['singleton', 'no-lost-dirty'],
  },
  {
    name: 'has-pinned-unlocked',
    summary:
      'refuse-join built like the v5.8 check: vfio_pin_pages reads dev_counter and sets the group\'s has-pinned flag without the group\'s device_lock, the lock vfio_group_create_device reads the flag under',
    reference:
      'derived: the seed\'s refuse-join, implemented in vfio_pin_pages (which took no device_lock in v5.8-v6.0) as the singleton check there was; shows fields-under-lock catching a vfio core field written unlocked',
    params: { singleton: 'refuse-join', pinners: 'iommu', iommuGroups: 1, mdevs: 0, joins: 1 },
    caughtBy: ['fields-under-lock', 'singleton'],
    provide: { 'vfio-scope.pdev': { guards: { checkHoldsDeviceLock: no, setsHasPinnedUnderDeviceLock: no } } },
  },
  {
    name: 'promote-before-pin-completes',
    summary:
      'a deliberate break: the group is promoted to pinned scope after the first page is pinned instead of after all of them; a later page that fails unwinds the pins but the scope stays promoted',
    reference:
      'derived (no kernel had it): drivers/vfio/vfio_iommu_type1.c vfio_iommu_type1_pin_pages promotes only after the loop (`ret = i; group = vfio_iommu_find_iommu_group(...)`); this moves it into the loop, to show scope-monotone firing',
    params: { singleton: 'refuse-join', pinners: 'iommu', iommuGroups: 1, mdevs: 0, joins: 0 },
    caughtBy: ['scope-monotone'],
    provide: { 'vfio-scope.pdev': { guards: { promotesAfterAllPages: no } } },
  },
  {
    name: 'map-without-bitmap-while-tracking',
    summary: 'a deliberate break: MAP_DMA while tracking does not allocate the new dma\'s bitmap; the next pin, vfio_dma_rw or GET uses a NULL bitmap',
    reference: 'derived (no kernel had it): drivers/vfio/vfio_iommu_type1.c vfio_dma_do_map `if (!ret && iommu->dirty_page_tracking) vfio_dma_bitmap_alloc(...)` (d6a4c185660c, v5.8) removed, to show bitmap-lifetime firing',
    params: { vmmOps: 3 },
    caughtBy: ['bitmap-lifetime'],
    provide: { 'vfio-scope.vmm': { guards: { allocsBitmapOnMapWhileTracking: no } } },
  },
];
