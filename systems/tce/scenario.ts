/**
 * SPAPR TCE tables on powernv (../shared/specs/tce.md, seed vfio-spapr-tce-powernv.txt, and
 * 6.17-rc: drivers/vfio/vfio_iommu_spapr_tce.c, arch/powerpc/kernel/iommu.c,
 * arch/powerpc/mm/book3s64/iommu_api.c, arch/powerpc/platforms/powernv/pci-ioda-tce.c,
 * arch/powerpc/kvm/book3s_64_vio.c): VMM threads issuing VFIO ioctls on one container, vCPUs
 * making TCE hypercalls into the same tables, the host driver on the DMA-API until it is
 * unbound, the device DMAing through the TCE cache, and the RCU callbacks freeing regions.
 */
import type { LockKind } from '../../core/model/locks.ts';
import type { StepRecord } from '../../core/model/monitor.ts';
import type { ActorSpec, Params, Scenario, WorldSpec } from '../../core/model/scenario.ts';
import { lockdep } from '../../kernel/lockdep.ts';
import { CONTAINER_LOCK, GROUP_MUTEX, KVM_SRCU, MEM_LIST_MUTEX, MMAP_LOCK, devKind, dmaKind, nvgpuKind, rcuKind, userKind, vcpuKind, type ThreadCtx } from './machines/index.ts';
import {
  dirtyBeforeUnpin,
  entriesInWindow,
  lockedVmBalance,
  mapOverlapPolicy,
  noDmaToFreedPage,
  noLeakOnRelease,
  noLockLeak,
  noUnpinWhileCached,
  noUseAfterFree,
  oneLevelPerSlot,
  ownershipExclusive,
  pinBalance,
  preregRefcount,
  regionMappedCount,
  unpinValidPage,
} from './specs/index.ts';
import { LARGE_POOL, poolLock, tceShared } from './state/index.ts';
import { tceBugs } from './variants.ts';
import { drawWorkload, type TceWorkload } from './workload.ts';

/** The actors and shared state of a run from a workload (drawn, or written by hand). */
export function buildFromWorkload(p: Params, w: TceWorkload): WorldSpec {
  const actors: ActorSpec[] = [];
  const cfg = { mapPath: String(p.mapPath), ownership: String(p.ownership) };
  w.users.forEach((ops, i) => actors.push({ id: `tce.user${i}`, kind: userKind, input: { id: `tce.user${i}`, ops, cfg } }));
  w.vcpus.forEach((ops, i) => actors.push({ id: `tce.vcpu${i}`, kind: vcpuKind, input: { id: `tce.vcpu${i}`, ops } }));
  w.dma.forEach((ops, i) => actors.push({ id: `tce.dma${i}`, kind: dmaKind, input: { id: `tce.dma${i}`, ops } }));
  if (w.dev.length) actors.push({ id: 'tce.dev', kind: devKind, input: { id: 'tce.dev', ops: w.dev } });
  if (w.nvgpu.length) actors.push({ id: 'tce.nvgpu', kind: nvgpuKind, input: { id: 'tce.nvgpu', ops: w.nvgpu } });
  actors.push({ id: 'tce.rcu', kind: rcuKind, input: { id: 'tce.rcu' } });
  const locks: { name: string; kind: LockKind }[] = [
    { name: CONTAINER_LOCK, kind: 'mutex' },
    { name: MEM_LIST_MUTEX, kind: 'mutex' },
    { name: MMAP_LOCK, kind: 'rwsem' },
    { name: GROUP_MUTEX, kind: 'mutex' },
    { name: KVM_SRCU, kind: 'rwsem' },
    { name: LARGE_POOL, kind: 'spinlock' },
    ...Array.from({ length: Number(p.nrPools) }, (_, i) => ({ name: poolLock(i), kind: 'spinlock' as LockKind })),
  ];
  const boundBy = w.dma.map((_, i) => `tce.dma${i}`).filter((_, i) => w.dma[i].length > 0);
  return {
    actors,
    locks,
    shared: () =>
      tceShared({
        v2: p.version === 'v2',
        windowPages: Number(p.windowPages),
        levels: Number(p.levels),
        levelSize: Number(p.levelSize),
        nrPools: Number(p.nrPools),
        cacheSize: Number(p.cacheSize),
        uaPages: Number(p.uaPages),
        devmemPages: p.nvgpu ? 2 : 0,
        boundBy,
        lists: w.lists,
      }),
  };
}

/**
 * Cost figures from the observations: steps in which a page with no pin is still in some entry's
 * may-hold set (the cost of unpin-before-kill), TCEs written (tcesMapped: a new entry, tcesCleared:
 * an entry cleared) and path exits by path (`exits:map`, `exits:seedMap`, …) to divide by.
 */
function unpinnedCachedObserver() {
  const mayHold: Record<number, Set<number>> = {};
  const pins: Record<number, number> = {};
  const counts: Record<string, number> = { tcesMapped: 0, tcesCleared: 0 };
  let steps = 0;
  return {
    onStep(rec: StepRecord) {
      for (const o of [...rec.obs].sort((a, b) => a.seq - b.seq)) {
        const v = o as unknown as Record<string, never>;
        if (o.what === 'tce-set') {
          const s = (mayHold[v.entry] ??= new Set());
          const old = v.old as { pfn: number } | null;
          const nu = v.new as { pfn: number } | null;
          if (old) s.add(old.pfn);
          if (nu) s.add(nu.pfn);
          counts[nu ? 'tcesMapped' : 'tcesCleared']++;
        } else if (o.what === 'kill') {
          for (const e of Object.keys(mayHold).map(Number)) if (e >= Number(v.start) && e < Number(v.start) + Number(v.n)) delete mayHold[e];
        } else if (o.what === 'pin' || o.what === 'unpin') pins[Number(v.pfn)] = Number(v.pins);
        else if (o.what === 'path-exit') counts[`exits:${String(v.path)}`] = (counts[`exits:${String(v.path)}`] ?? 0) + 1;
      }
      const exposed = Object.values(mayHold).some((s) => [...s].some((pfn) => pins[pfn] === 0));
      if (exposed) steps++;
    },
    result: () => ({ unpinnedCachedSteps: steps, ...counts }),
  };
}

export const tceScenario: Scenario = {
  name: 'tce',
  description: 'SPAPR TCE tables on powernv: VFIO v1/v2 containers, KVM H_PUT_TCE, the DMA-API pools, on-demand TCE levels, the TCE cache and batched invalidation',
  parameters: [
    { name: 'version', description: 'container type: v1 (VFIO_SPAPR_TCE_IOMMU, a pin per TCE) or v2 (preregistered regions, mapped counts)', type: 'enum', default: 'v2', values: ['v1', 'v2'] },
    { name: 'mapPath', description: 'today: tce_iommu_build/clear (6.17); seed: the 2012 iommu_put_tces (v1, itmap) as the review left it', type: 'enum', default: 'today', values: ['today', 'seed'] },
    { name: 'ownership', description: 'pnv: the iommu core claims the group and powernv drops its table (6.17); itmap: iommu_take_ownership fills it_map under every pool lock (pseries, generic before 2024)', type: 'enum', default: 'pnv', values: ['pnv', 'itmap'] },
    { name: 'kill', description: 'TCE cache invalidation: per-ioctl (iommu_tce_kill once per range, v5.4+) or per-entry (iommu_tce_xchg, before v5.4)', type: 'enum', default: 'per-ioctl', values: ['per-ioctl', 'per-entry'] },
    { name: 'windowPages', description: 'entries of each DMA window (default window, DDW, the kernel table)', type: 'int', default: 8, min: 4, max: 64 },
    { name: 'levels', description: 'TCE table levels of the kernel table and the DDW (it_indirect_levels + 1); the v1/default window has 1', type: 'int', default: 2, min: 1, max: 3 },
    { name: 'levelSize', description: 'entries per indirect level page (it_level_size)', type: 'int', default: 4, min: 2, max: 16 },
    { name: 'deferBatch', description: 'corrected order, v1: old pages kept on the stack before a kill is forced', type: 'int', default: 2, min: 1, max: 64 },
    { name: 'oldpagesnum', description: 'seed: oldpages[] entries before a flush (PAGE_SIZE / sizeof(struct page *) in the seed)', type: 'int', default: 2, min: 1, max: 512 },
    { name: 'nrPools', description: 'DMA-API small pools of the kernel table (4 for windows of 1 GB or more, else 1)', type: 'int', default: 2, min: 1, max: 4 },
    { name: 'userThreads', description: 'VMM threads issuing ioctls on the container', type: 'int', default: 2, min: 1, max: 3 },
    { name: 'ddw', description: 'v2: the VMM creates a dynamic DMA window (TCE_CREATE) after attaching, most of the time', type: 'boolean', default: true },
    { name: 'vcpus', description: 'vCPUs making TCE hypercalls (v2 only)', type: 'int', default: 1, min: 0, max: 2 },
    { name: 'dmaThreads', description: 'host driver threads using the DMA-API before the device is unbound', type: 'int', default: 1, min: 0, max: 2 },
    { name: 'device', description: 'a device DMAing through the TCE cache', type: 'boolean', default: true },
    { name: 'dmaOps', description: 'DMAs (and cache evictions) the device makes', type: 'int', default: 4, min: 0, max: 32 },
    { name: 'cacheSize', description: 'TCE cache entries', type: 'int', default: 4, min: 1, max: 64 },
    { name: 'nvgpu', description: 'NVLink2 GPU RAM mmap (mm_iommu_newdev; removed in v5.13): device memory regions and the mmap_lock → mem_list_mutex order', type: 'boolean', default: false },
    { name: 'uaPages', description: 'pages of the VMM memory (guest RAM)', type: 'int', default: 6, min: 2, max: 64 },
    { name: 'opsPerThread', description: 'map/unmap/munmap/unregister (or hcalls) each thread draws', type: 'int', default: 3, min: 0, max: 16 },
    { name: 'allocFailRate', description: 'probability that each allocation (GFP_ATOMIC level, kzalloc, vzalloc, the locked_vm limit) fails', type: 'number', default: 0.03, min: 0, max: 1 },
    { name: 'gupFailRate', description: 'probability that each pin_user_pages/get_user_pages call fails', type: 'number', default: 0.03, min: 0, max: 1 },
    { name: 'releaseAtEnd', description: 'the VMM closes the container when its threads are done (tce_iommu_release)', type: 'boolean', default: true },
  ],
  bugs: tceBugs,
  monitors: [
    lockdep,
    noLockLeak,
    entriesInWindow,
    oneLevelPerSlot,
    ownershipExclusive,
    unpinValidPage,
    noUseAfterFree,
    noUnpinWhileCached,
    dirtyBeforeUnpin,
    pinBalance,
    regionMappedCount,
    mapOverlapPolicy,
    noDmaToFreedPage,
    lockedVmBalance,
    preregRefcount,
    noLeakOnRelease,
  ],
  build(p, _bug, data) {
    return buildFromWorkload(p, drawWorkload(p, data));
  },
  stepEstimate(p) {
    const threads = Number(p.userThreads) + Number(p.vcpus) + Number(p.dmaThreads);
    return Math.max(40, threads * Number(p.opsPerThread) * 7 + 40);
  },
  metrics(q) {
    const out: Record<string, number> = {};
    for (const a of Object.values(q.actors)) {
      const c = a.context as unknown as ThreadCtx;
      for (const [k, v] of Object.entries(c.stats ?? {})) out[k] = (out[k] ?? 0) + v;
    }
    const cache = q.shared?.('tce.cache') as { d: { eehs: number; hits: number } } | undefined;
    if (cache) {
      out.eehs = cache.d.eehs;
      out.cacheHits = cache.d.hits;
    }
    return out;
  },
  observer: unpinnedCachedObserver,
};
