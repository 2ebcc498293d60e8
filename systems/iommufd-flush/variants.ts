/**
 * Bug variants. Each substitutes named guards of the fixed machines (`provide`), or, where the bug
 * is a flush policy the thread argued (the seed patch as posted), selects that policy: the policy
 * is the design alternative under test and `--set policy=` is how a user compares them.
 * docs/iommufd-flush.md has each variant's interleaving, fix and reference.
 */
import type { EventObject } from 'xstate';
import type { BugVariant } from '../../core/model/scenario.ts';
import { SYSTEM } from './types.ts';

const VMM = `${SYSTEM}.vmm`;
const ACCESS = `${SYSTEM}.access`;
const facts = (e: EventObject) => ((e as { f?: Record<string, unknown> }).f ?? {}) as Record<string, unknown>;
const never = () => false;

export const flushBugs: BugVariant[] = [
  {
    name: 'flag-skip-shared-pages',
    summary:
      "the seed's pages-wide cache_flush_required skips the flush of pages never flushed: IOAS_COPY makes an area A' over a slice of A's iopt_pages below A; attaching a non-coherent domain fills A' first (flush, flag set), then A is mapped unflushed",
    reference: 'seed [5/5] iopt_area_fill_domain() (cache_flush_required = cnt && !pages->cache_flush_required); Jason Gunthorpe 2024-05-14 "copy can create new areas that point to shared pages"; verified against the seed text',
    params: { policy: 'seed', workload: 'copy-below', allocFailRate: 0, gupFailRate: 0 },
    caughtBy: ['nc-skip-only-if-flushed', 'nc-flush-before-map', 'nc-no-stale-read'],
  },
  {
    name: 'counter-zero-not-flushed',
    summary:
      'HYPOTHETICAL (derived from the review, not the seed): the unpin flush gated on noncoherent_domain_cnt > 0; the non-coherent domain is detached (cnt 0) while an access still pins pages it mapped, and their later unpin skips the flush',
    reference:
      "derived from the review: Jason 2024-05-21 \"count going to zero doesn't really mean we flushed the PFN\" (a misreading: v1 gates the unpin flush on the sticky pages flag, Yan 2024-05-22); the model's seed is v1, this variant substitutes unpinFlushNeeded := cnt > 0",
    params: { policy: 'seed', workload: 'access-detach', allocFailRate: 0, gupFailRate: 0 },
    caughtBy: ['nc-clean-at-unpin', 'nc-skip-only-if-flushed'],
    provide: {
      [VMM]: { guards: { unpinFlushNeeded: ({ event }: { event: EventObject }) => Number(facts(event).cnt) > 0 } },
      [ACCESS]: { guards: { unpinFlushNeeded: ({ event }: { event: EventObject }) => Number(facts(event).cnt) > 0 } },
    },
  },
  {
    name: 'no-flush-upstream',
    summary:
      'upstream today (= --set policy=none): nothing flushes CPU caches for non-coherent domains, so a no-snoop device reads memory under the host\'s dirty lines (the host\'s data leaks) and lines older than the device\'s writes survive the unpin',
    reference: 'drivers/iommu/iommufd/pages.c (6.17-rc and every tree read): batch_to_domain / batch_unpin flush nothing; the seed commit message (Fixes: e8d57210035b); never merged',
    params: { workload: 'attach-map-unmap', allocFailRate: 0, gupFailRate: 0 },
    caughtBy: ['nc-skip-only-if-flushed', 'nc-flush-before-map', 'nc-no-stale-read', 'nc-clean-at-unpin'],
    provide: {
      [VMM]: { guards: { fillFlushNeeded: never, unmapFlushNeeded: never, unpinFlushNeeded: never } },
      [ACCESS]: { guards: { fillFlushNeeded: never, unmapFlushNeeded: never, unpinFlushNeeded: never } },
    },
  },
  {
    name: 'split-domains-itree',
    summary:
      "iopt_area_split() of a filled area (vfio-compat unmap in the middle) does not move pages_node into lhs and rhs: the freed area's node stays in domains_itree and the halves are not in it",
    reference: 'e7250ab7ca49 "iommufd: Fix missing update of domains_itree after splitting iopt_area" (CVE-2023-52801, v6.7-rc); io_pagetable.c iopt_area_split()',
    params: { workload: 'split-attach', allocFailRate: 0, gupFailRate: 0 },
    caughtBy: ['itree-consistent', 'no-use-after-free', 'kernel-warn', 'pin-balance'],
    provide: { [VMM]: { guards: { splitUpdatesItree: never } } },
  },
  {
    name: 'batch-carry-end',
    summary:
      'batch_clear_carry() leaves end = 0: unfilling the last domain while an access holds index 1 of a 100-102,200 layout carries {101,2}, skips {102,1}, and the next batch_add_pfn(200) overwrites entry 0; 102 is never unpinned and batch_unpin walks a stale entry',
    reference: 'b7c822fa6b77 "iommufd: Set end correctly when doing batch carry" (pull for v6.5); pages.c batch_clear_carry(); verified',
    params: { workload: 'carry', pfnLayout: 'carry', disableLargePages: false, pages: 4, allocFailRate: 0, gupFailRate: 0 },
    caughtBy: ['pin-balance', 'no-unpin-while-mapped-or-accessed', 'kernel-warn'],
    provide: { [VMM]: { guards: { carryKeepsEnd: never } } },
  },
  {
    name: 'contig-done-after-unlock',
    summary:
      'iommufd_access_unpin_pages() calls iopt_area_contig_done() after up_read(iova_rwsem): an unmap that runs in between frees the area it dereferences',
    reference: 'dbe245cdf518 "iommufd: Call iopt_area_contig_done() under the lock" (pull for v6.5, syzkaller); device.c iommufd_access_unpin_pages(); verified',
    params: { workload: 'unpin-race', allocFailRate: 0, gupFailRate: 0 },
    caughtBy: ['no-use-after-free'],
    provide: { [ACCESS]: { guards: { contigDoneUnderLock: never } } },
  },
  {
    name: 'area-ptr-after-unlock',
    summary:
      'iopt_unmap_iova_range() reads the area (its length, then WARN_ON(area->num_accesses)) after dropping the locks for the access notify: a second unmap frees the area meanwhile',
    reference: '804ca14d04df "iommufd: Do not access the area pointer after unlocking" (pull for v6.5, syzkaller); io_pagetable.c iopt_unmap_iova_range(); verified',
    params: { workload: 'unmap-race', allocFailRate: 0, gupFailRate: 0 },
    caughtBy: ['no-use-after-free'],
    provide: { [VMM]: { guards: { lengthBeforeUnlock: never } } },
  },
  {
    name: 'destroy-refcount-race',
    summary:
      "IOMMU_DESTROY takes a users reference (get_object, ref_to_users, destroy_user): the driver's iommufd_access_destroy() racing it finds users > 1 and fails (WARN), then the ioctl destroys the access under the driver",
    reference: '99f98a7c0d69 "iommufd: IOMMUFD_DESTROY should not increase the refcount" (CVE-2023-53795, 6.2-6.4.8); main.c iommufd_destroy(); verified',
    params: { workload: 'destroy-race', allocFailRate: 0, gupFailRate: 0 },
    caughtBy: ['kernel-destroy-succeeds', 'no-use-after-free'],
    provide: { [VMM]: { guards: { destroyTakesRef: () => true } } },
  },
  {
    name: 'unpin-with-access',
    summary:
      'iopt_area_unpin_domain() computes batch_last_index from the read start (max(start_index, unmapped_end)) instead of start_index: with a carry from before an access, it unpins past the hole (over-unpin)',
    reference:
      '727c28c1cef2 "iommufd: Fix unpinning of pages when an access is present" (id verified; the diff was NOT read: the pre-fix expression start + total_pfns - 1 is a reconstruction consistent with pages.c @0604aa87)',
    params: { workload: 'carry', pfnLayout: 'carry', disableLargePages: false, pages: 4, allocFailRate: 0, gupFailRate: 0 },
    caughtBy: ['kernel-warn', 'pin-balance', 'no-unpin-while-mapped-or-accessed'],
    provide: { [VMM]: { guards: { unpinLastFromStartIndex: never } } },
  },
  {
    name: 'seed-flag-on-failed-fill',
    summary:
      "the seed sets pages->cache_flush_required before pfn_reader_first in iopt_area_fill_domain(): a fill that then fails (batch allocation) leaves the flag set with nothing flushed, and the next non-coherent domain's fill skips the flush",
    reference: 'derived from the seed code ([5/5] iopt_area_fill_domain: flag set before pfn_reader_first); not reported in the thread',
    params: { policy: 'seed', workload: 'failed-fill', failNth: 4 },
    caughtBy: ['fail-atomic', 'nc-skip-only-if-flushed', 'nc-flush-before-map', 'nc-no-stale-read'],
  },
  {
    name: 'storage-hint-stale-handover',
    summary:
      'storage-hint: when the non-coherent storage domain is detached and storage_domain moves to a coherent one, the hint is not updated; a later non-coherent fill reads the PFNs from the coherent domain and skips their flush',
    reference: 'derived from the review: Yan Zhao 2024-05-22 (the hint must follow "when storage_domain is switching"); io_pagetable.c iopt_unfill_domain() repoint',
    params: { policy: 'storage-hint', workload: 'storage-handover', allocFailRate: 0, gupFailRate: 0 },
    caughtBy: ['nc-skip-only-if-flushed', 'nc-flush-before-map', 'nc-no-stale-read'],
    provide: { [VMM]: { guards: { repointUpdatesHint: never } } },
  },
  {
    name: 'release-pins-before-unmap',
    summary:
      "DERIVED FINDING in today's code: iopt_area_fill_domains()' error path calls pfn_reader_release_pins() before unmapping the domains: when iommu_map fails for the second domain, the batch already mapped into the first is unpinned while that domain still maps it (a window in which a concurrent munmap frees pages a device can DMA to)",
    reference:
      'derived from the code: pages.c iopt_area_fill_domains() out_unmap (6.17-rc and v6.3 alike); the fixed model unmaps first (guard releasePinsAfterUnmap); not reported upstream',
    params: { workload: 'two-domains-map', failNth: 10 },
    caughtBy: ['no-unpin-while-mapped-or-accessed'],
    provide: { [VMM]: { guards: { releasePinsAfterUnmap: never } } },
  },
];
