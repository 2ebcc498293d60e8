/**
 * The `dirty` bug variants. Each substitutes named behaviours (boolean guards) of the machines
 * (xstate `provide`), which the paths read; none is a test of the variant's name. docs/dirty.md
 * tells for each what goes wrong, the interleaving that shows it, the fix and the reference.
 * "derived" = read out of the code, not reported upstream as far as we know.
 */
import type { BugVariant, MachineSubstitution } from '../../core/model/scenario.ts';

const no = () => false;
const yes = () => true;
/** The same behaviour in both userspace threads (the VMM and the hotplug thread run the same ioctl paths). */
const ioctls = (guards: Record<string, () => boolean>): Record<string, MachineSubstitution> => ({ 'dirty.vmm': { guards }, 'dirty.hotplug': { guards } });
const CHUNKED = { bitmap: 'chunked', bmPageBytes: 2, chunkPages: 1, bitmapOffset: 1 } as const;

export const dirtyBugs: BugVariant[] = [
  {
    name: 'split-race-does-not-exist',
    summary:
      'the background split takes no lock ("race condition does not exist"): a hotplug unmap clears and frees part of a block while the split walks it; the split then stores nT into the cleared slot (a plain store of the value it read), resurrecting a mapping of freed memory, or installs into a table the unmap freed',
    reference: "seed thread: Robin Murphy's review of [RFC PATCH 04/11] iommu/arm-smmu-v3: Split block descriptor to a span of page, 2021-02-05 (\"Not expected to be is not the same thing as can not\"); the seed relies on vfio iommu->lock only",
    params: { split: 'recursive', splitWhen: 'background', bbml: 1, hotplug: true },
    caughtBy: ['split-serialized', 'split-atomic-translation', 'no-use-after-free'],
    provide: { 'dirty.splitter': { guards: { takesSplitLock: no } } },
  },
  {
    name: 'split-on-unmap-bbm0',
    summary:
      'an unmap of part of a block splits it: arm_lpae_split_blk_unmap() builds the next-level table and swaps it for the live block with one cmpxchg, with no break-before-make, which SMMUv3 forbids at BBML0',
    reference: 'kernel 33729a5fc0ca "iommu/io-pgtable-arm: Remove split on unmap behavior" (v6.13; Jason Gunthorpe: "illegal/non-hitless ... on at least SMMUv3 because of the BBM level 0 rules"); io-pgtable-arm.c arm_lpae_split_blk_unmap() before it',
    params: { partialUnmap: true, bbml: 0, hugePages: true, layout: 'blocks' },
    caughtBy: ['split-atomic-translation'],
    provide: { 'dirty.hotplug': { guards: { refusesPartialUnmap: no } } },
  },
  {
    name: 'visit-dirty-clears-copy',
    summary:
      'the walker hands visit_dirty the descriptor by value, so iopte_set_writeable_clean() sets AP_RDONLY on a local copy: nothing is ever cleared, SET(1) leaves every map-created leaf dirty and every GET reports it again',
    reference: 'io-pgtable-arm.c walker refactor (io_pgtable_visit, 2024), review by Will Deacon ("pass the pointer"); visit callback takes ptep since (K: visit_dirty)',
    caughtBy: ['dirty-clean-start', 'dirty-clear-idempotent'],
    provide: ioctls({ clearsSharedPte: no }),
  },
  {
    name: 'visit-dirty-nonleaf',
    summary:
      'io_pgtable_visit() calls visit() before its own leaf test, and visit_dirty lacks `if (!iopte_leaf(...)) return 0`: the dirty test runs on table descriptors. With real encodings a table never has DBM, so it is latent; it reports (and clears) the whole table span once the IGNORED bits 51/7 of a table are set',
    reference: 'io-pgtable-arm.c walker refactor, later revision adding the leaf check to visit_dirty (K: visit_dirty)',
    caughtBy: ['dirty-walker-leaf-only', 'dirty-bounded-over-report'],
    provide: ioctls({ visitsTablesAsLeaves: yes }),
  },
  {
    name: 'iova-bitmap-beyond-mapped',
    summary:
      'a block record that runs past the pinned window of the user bitmap sets only the bits in the window and drops the rest, while the block is cleared: the dirty pages of the block past the window are never reported',
    reference: 'kernel 2780025e01e2 "iommufd/iova_bitmap: Handle recording beyond the mapped pages" (v6.8-rc; Fixes f35f22cc760e, 421a511a293f); iova_bitmap.c iova_bitmap_set()/set_ahead_length',
    params: { ...CHUNKED, layout: 'blocks' },
    caughtBy: ['dirty-no-lost-write'],
    provide: ioctls({ carriesBeyondPinned: no }),
  },
  {
    name: 'iova-bitmap-u8',
    summary:
      'iova_bitmap indexes the user bitmap in u64 words: with a buffer not u64-aligned, the window rounds up to a word past the one pinned byte, the walk covers the whole word, bits past the pinned page are carried, and the index reaches the end so the carry never runs: dirty bits are lost',
    reference: 'kernel d18411ec3057 "iommufd/iova_bitmap: Switch iova_bitmap::bitmap to an u8 array" (v6.8-rc); iova_bitmap.c (u64 __user *bitmap before it)',
    params: { ...CHUNKED, hugePages: false, layout: 'blocks' },
    caughtBy: ['dirty-no-lost-write'],
    provide: ioctls({ bitmapIndexU64: yes }),
  },
  {
    name: 'unmap-drops-dirty',
    summary:
      'userspace unmaps an area without reading its dirty bitmap first: a DMA write after the last GET is still only in the IOPTE when IOAS_UNMAP clears it, and no API returns it',
    reference: "upstream has no unmap-and-read API (Joao Martins's 2022 RFC \"iommu: Add an unmap API that returns dirtied IOPTEs\" was not merged); QEMU \"vfio/iommufd: Query dirty bitmap before DMA unmap\" (2025)",
    params: { hotplug: true },
    caughtBy: ['dirty-no-lost-write'],
    provide: ioctls({ readsBeforeUnmap: no }),
  },
  {
    name: 'stale-block-tlb-after-split',
    summary:
      'the seed splits and flushes the IOTLB only at the end: a TLB entry for the old block, cached writable-clean, takes a DMA write after the install; the SMMU updates bit 7 of the descriptor the entry came from (now a table) and caches the entry dirty, so no child is ever dirtied and the write is lost',
    reference: 'derived from the seed (iommu_split_block: one iommu_flush_iotlb_all after the loop) with HTTU updating the descriptor the TLB entry was walked from (a hardware assumption, docs/dirty.md)',
    params: { split: 'straight', splitWhen: 'background', bbml: 2, flush: 'end', splitGuard: 'intended', readsFraction: 0.5, writes: 12, layout: 'blocks' },
    caughtBy: ['dirty-no-lost-write'],
    provide: { 'dirty.dev': { guards: { hwRewalksStaleEntry: no } } },
  },
  {
    name: 'no-iotlb-sync-after-clear',
    summary:
      'the IOTLB sync after clearing dirty bits does nothing on SMMUv3: iommu_iotlb_gather_add_range() never sets gather->pgsize and arm_smmu_iotlb_sync() returns when it is 0; a TLB entry cached dirty survives the clear, a later write through it sets no dirty bit, and the next GET misses it',
    reference: 'derived, today\'s code (6.17-rc): include/linux/iommu.h iommu_iotlb_gather_add_range(), drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c arm_smmu_iotlb_sync() ("if (!gather->pgsize) return;"); callers iommu_read_and_clear_dirty(), iopt_clear_dirty_data()',
    caughtBy: ['dirty-tlb-after-clear', 'dirty-no-lost-write'],
    provide: ioctls({ syncsAfterClear: no }),
  },
  {
    name: 'get-error-swallowed',
    summary:
      'GET_DIRTY_BITMAP returns 0 when the walk failed: iommu_read_and_clear_dirty() discards the result of iova_bitmap_for_each(), so a range whose areas stop (an unmap took the lock first) or a failed re-pin of the user bitmap reads as "nothing dirty" for the part not walked',
    reference: 'derived, today\'s code: drivers/iommu/iommufd/io_pagetable.c iommu_read_and_clear_dirty() (return value of iova_bitmap_for_each dropped), iova_bitmap.c iova_bitmap_set() (6.11+, returns silently when advance_to fails)',
    params: { hotplug: true, layout: 'blocks' },
    caughtBy: ['dirty-no-lost-write', 'dirty-no-clear-pure'],
    provide: ioctls({ returnsWalkErrors: no }),
  },
  {
    name: 'walk-unaligned-start',
    summary:
      'the walker advances with `walk->addr += size` and records [addr, addr+size): a walk that starts inside a leaf stays misaligned, records a range shifted past its leaf and enters the next table at the wrong index, skipping leaves',
    reference: 'derived, today\'s code: io-pgtable-arm.c io_pgtable_visit() / visit_dirty() (K); reachable with a GET range that starts inside a block',
    params: { getRanges: 'subrange', layout: 'blocks' },
    caughtBy: ['dirty-no-lost-write'],
    provide: ioctls({ advancesUnaligned: yes }),
  },
  {
    name: 'record-past-range-end',
    summary: 'a dirty leaf that extends past the end of the GET range is recorded whole: iova_bitmap_set() writes bits past nbits into the user page, outside the user\'s bitmap',
    reference: 'derived, today\'s code: io-pgtable-arm.c visit_dirty() records [addr, addr+size) unclamped; iova_bitmap.c iova_bitmap_set() has no end check within the pinned page',
    params: { getRanges: 'subrange' },
    caughtBy: ['dirty-bitmap-edges'],
    provide: ioctls({ recordsUnclamped: yes }),
  },
  {
    name: 'clear-partial-leaf',
    summary: 'a GET that covers part of a dirty block clears the whole block but reports only its part: a write to the rest of the block is reported by nobody',
    reference: 'derived: the naive fix of record-past-range-end (clamp the record, keep the clear); io-pgtable-arm.c visit_dirty()',
    params: { getRanges: 'subrange', layout: 'blocks' },
    caughtBy: ['dirty-no-lost-write'],
    provide: ioctls({ clearsPartialLeaf: yes }),
  },
  {
    name: 'no-clear-ignored',
    summary: 'visit_dirty clears the dirty bit even for IOMMU_DIRTY_NO_CLEAR: a read meant to leave the state alone changes it',
    reference: 'kernel 609848132c71 "iommufd: Add a flag to skip clearing of IOPTE dirty" (the flag every read_and_clear_dirty must honour); io-pgtable-arm.c visit_dirty()',
    caughtBy: ['dirty-no-clear-pure'],
    provide: ioctls({ honoursNoClear: no }),
  },
  {
    name: 'get-without-iova-rwsem',
    summary: 'GET_DIRTY_BITMAP walks without iova_rwsem: an unmap sets area->pages = NULL and unfills the area while the walker is in it',
    reference: 'io_pagetable.c iopt_read_and_clear_dirty_data(): down_read(&iopt->iova_rwsem) around iommu_read_and_clear_dirty() (K)',
    params: { hotplug: true },
    caughtBy: ['dirty-reader-exclusion'],
    provide: ioctls({ getTakesIovaRwsem: no }),
  },
  {
    name: 'unmap-lock-inversion',
    summary: 'iopt_unmap_iova_range() takes iova_rwsem before domains_rwsem, the reverse of iopt_map_pages() (domains_rwsem, then iova_rwsem to publish): an ABBA between map and unmap',
    reference: 'io_pagetable.c lock order: domains_rwsem, then iova_rwsem (iopt_map_pages, iopt_unmap_iova_range, K); a deliberate inversion for lockdep',
    caughtBy: ['lockdep'],
    provide: ioctls({ unmapTakesDomainsFirst: no }),
  },
  {
    name: 'split-partial-subtree',
    summary:
      'a straight split (build the subtree, swap once) whose GFP_ATOMIC allocation fails part-way installs the subtree it has, with the entries of the tables it could not allocate left empty: the pages under them lose their translation',
    reference: "derived: a naive error path of the straight split Robin Murphy suggested in the seed's review (never written); io-pgtable-arm.c arm_lpae_install_table()",
    params: { split: 'straight', splitWhen: 'enable', bbml: 2, faultRate: 0.25, layout: 'one-block' },
    caughtBy: ['split-alloc-fail-safe', 'split-atomic-translation'],
    provide: { 'dirty.splitter': { guards: { freesSubtreeOnAllocFail: no } } },
  },
  {
    name: 'split-fail-skips-flush',
    summary: 'iommu_split_block() returns as soon as a split comes up short, skipping iommu_flush_iotlb_all(): the tables it did install stay behind stale block entries in the TLB',
    reference: 'derived from the seed: iommu_split_block() breaks out of the loop and then flushes; returning early instead leaves the installs unflushed',
    params: { split: 'recursive', splitWhen: 'enable', bbml: 2, flush: 'end', faultRate: 0.25, layout: 'one-block' },
    caughtBy: ['dirty-terminates'],
    provide: { 'dirty.splitter': { guards: { flushesAfterShortSplit: no } } },
  },
];
