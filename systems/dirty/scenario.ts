/**
 * `dirty`: iommufd dirty tracking over io-pgtable-arm with SMMUv3 HTTU (../shared/specs/dirty-split.md,
 * ../notes/dirty.md), and the seed's block split (smmuv3-split-block-dirty-log.txt) as a design
 * alternative. Threads: the VMM's migration thread, a hotplug thread, a DMA device, and (with a split)
 * the splitter. Shared state: the page table, the SMMU TLB, the io_pagetable's areas, the user bitmaps.
 */
import type { QuiescenceView } from '../../core/model/monitor.ts';
import type { ActorSpec, Params, Scenario } from '../../core/model/scenario.ts';
import { lockdep } from '../../kernel/lockdep.ts';
import { cfgOf, devInput, devKind, hotplugInput, hotplugKind, splitterInput, splitterKind, vmmInput, vmmKind } from './machines/index.ts';
import { dirtyObserver } from './metrics.ts';
import {
  allocFailSafe,
  atomicTranslation,
  bitmapEdges,
  boundedOverReport,
  cleanStart,
  clearIdempotent,
  noClearPure,
  noLostWrite,
  noUseAfterFree,
  readerExclusion,
  serialized,
  terminates,
  tlbAfterClear,
  walkerLeafOnly,
} from './specs/index.ts';
import { IoptState, PgTableState, SmmuTlbState, UbufState } from './state/index.ts';
import { LOCK_DOMAINS, LOCK_IOVA, LOCK_VFIO, PT, type DirtyWorkload } from './types.ts';
import { dirtyBugs } from './variants.ts';
import { drawWorkload } from './workload.ts';

/** Build the actors and shared state of one run from a workload (drawn, or written by hand). */
export function buildFromWorkload(p: Params, w: DirtyWorkload) {
  const cfg = cfgOf(p);
  const actors: ActorSpec[] = [
    { id: 'vmm', kind: vmmKind, input: vmmInput('vmm', w.vmm, w.bitmap.vmm?.offset ?? 0, 'splitter', cfg) },
    { id: 'hotplug', kind: hotplugKind, input: hotplugInput('hotplug', w.hotplug, w.bitmap.hotplug?.offset ?? 0, 'splitter', cfg) },
    { id: 'dev', kind: devKind, input: devInput('dev', w.dev) },
  ];
  if (cfg.split !== 'none') actors.push({ id: 'splitter', kind: splitterKind, input: splitterInput('splitter') });
  return {
    actors,
    locks: [
      { name: LOCK_VFIO, kind: 'mutex' as const },
      { name: LOCK_DOMAINS, kind: 'rwsem' as const },
      { name: LOCK_IOVA, kind: 'rwsem' as const },
    ],
    shared: () => ({ states: [new PgTableState(cfg), new SmmuTlbState(), new IoptState(w.areas), new UbufState()] }),
  };
}

export const dirtyScenario: Scenario = {
  name: 'dirty',
  description: 'iommufd dirty tracking on io-pgtable-arm with SMMUv3 HTTU (read_and_clear, NO_CLEAR, IOTLB sync, iova_bitmap, iova_rwsem vs unmap) and the seed\'s block split as an alternative',
  parameters: [
    { name: 'levels', description: 'page-table levels (L1 root .. pages)', type: 'int', default: 3, min: 3, max: 4 },
    { name: 'fanout', description: 'entries per table (512 in the kernel; small so runs stay short)', type: 'int', default: 4, min: 3, max: 8 },
    { name: 'layout', description: 'area layout: drawn per run, or blocks (an L1 block, two L2 blocks, two pages), pages (page leaves only), one-block', type: 'enum', default: 'draw', values: ['draw', 'blocks', 'pages', 'one-block'] },
    { name: 'hugePages', description: 'IOMMU_OPTION_HUGE_PAGES: map with blocks (false: pages only, Robin Murphy\'s "strip the larger sizes")', type: 'boolean', default: true },
    { name: 'split', description: 'none (upstream: a dirty block reports its whole block), or the seed\'s split: recursive (seed) or straight (build the subtree, swap once)', type: 'enum', default: 'none', values: ['none', 'recursive', 'straight'] },
    { name: 'bbml', description: 'SMMU break-before-make level: 0 refuses the split, 1 sets nT then flushes then installs, 2 installs directly', type: 'int', default: 1, min: 0, max: 2 },
    { name: 'flush', description: "split's IOTLB flush: one flush_iotlb_all at the end (seed) or a TLBI per installed block", type: 'enum', default: 'end', values: ['end', 'perBlock'] },
    { name: 'splitWhen', description: 'split inside SET_DIRTY_TRACKING(1) before the clear (seed), or in a background thread after it', type: 'enum', default: 'enable', values: ['enable', 'background'] },
    { name: 'splitLock', description: "the split's serialisation: vfio iommu->lock around every ioctl and the split (seed), or iova_rwsem read (iommufd placement)", type: 'enum', default: 'vfio', values: ['vfio', 'iova-read'] },
    { name: 'splitGuard', description: "which blocks split: seed (not AP_RDONLY: dirty ones only, under HTTU) or intended (writable: DBM or not AP_RDONLY)", type: 'enum', default: 'seed', values: ['seed', 'intended'] },
    { name: 'bitmap', description: 'iova_bitmap form: dynamic (6.11+, re-pins in iova_bitmap_set) or chunked (6.7-6.10, one walk per pinned window, set_ahead carry)', type: 'enum', default: 'dynamic', values: ['dynamic', 'chunked'] },
    { name: 'bmPageBytes', description: 'bytes in a user page of the bitmap (PAGE_SIZE, small)', type: 'int', default: 2, min: 1, max: 16 },
    { name: 'chunkPages', description: 'user pages pinned at once (PAGE_SIZE / sizeof(struct page *), small)', type: 'int', default: 1, min: 1, max: 4 },
    { name: 'bitmapOffset', description: "byte offset of each thread's bitmap in its page (-1: drawn per run)", type: 'int', default: -1, min: -1, max: 15 },
    { name: 'getRanges', description: 'GET ranges: whole runs of areas (QEMU per section) or sub-ranges of an area', type: 'enum', default: 'areas', values: ['areas', 'subrange'] },
    { name: 'tlbCachesDirty', description: 'the SMMU TLB caches the dirty state (a write through a dirty entry updates no descriptor)', type: 'boolean', default: true },
    { name: 'partialUnmap', description: 'the hotplug thread also unmaps one page of a block in the kernel (iommu_unmap of part of a huge IOPTE)', type: 'boolean', default: false },
    { name: 'tableIgnoredBits', description: 'IGNORED bits 51/7 of table descriptors: zero (real encodings) or random', type: 'enum', default: 'zero', values: ['zero', 'random'] },
    { name: 'hotplug', description: 'a hotplug thread unmaps one area during the migration', type: 'boolean', default: true },
    { name: 'rounds', description: 'VMM rounds (GET, GET NO_CLEAR, MAP, UNMAP) between enable and the final round', type: 'int', default: 3, min: 0, max: 12 },
    { name: 'writes', description: 'DMA accesses of the device', type: 'int', default: 6, min: 0, max: 32 },
    { name: 'readsFraction', description: 'share of the device accesses that are reads', type: 'number', default: 0.2, min: 0, max: 1 },
    { name: 'faultRate', description: 'probability that each table allocation, bitmap allocation or bitmap pin fails', type: 'number', default: 0.05, min: 0, max: 1 },
    { name: 'getRetries', description: 'times the VMM asks again after a failed GET that cleared nothing it did not report (else it fails the migration)', type: 'int', default: 2, min: 0, max: 8 },
    { name: 'pageBytes', description: 'bytes per IOVA page (metrics only)', type: 'int', default: 4096, min: 1, max: 1 << 30 },
  ],
  bugs: dirtyBugs,
  monitors: [
    lockdep,
    noUseAfterFree,
    noLostWrite,
    cleanStart,
    noClearPure,
    clearIdempotent,
    boundedOverReport,
    bitmapEdges,
    tlbAfterClear,
    readerExclusion,
    walkerLeafOnly,
    atomicTranslation,
    allocFailSafe,
    serialized,
    terminates,
  ],
  build(p, _bug, data) {
    return buildFromWorkload(p, drawWorkload(p, data));
  },
  stepEstimate(p) {
    return 60 + Number(p.rounds) * 12 + Number(p.writes) * 3 + (p.split === 'none' ? 0 : 40);
  },
  metrics(q: QuiescenceView) {
    // Tables allocated that nobody linked and nobody freed: the seed's ignored install result.
    const pt = q.shared?.(PT) as PgTableState | undefined;
    const leaks = pt ? Object.values(pt.d.tables).filter((t) => !t.linked && !t.freed).length : 0;
    return { tableLeaks: leaks };
  },
  observer() {
    return dirtyObserver({});
  },
  derive(t): Record<string, number> {
    return t.gets ? { meanOverReportedBytesPerGet: Math.round(t.overReportedBytes / t.gets) } : {};
  },
};
