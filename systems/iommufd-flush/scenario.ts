/**
 * iommufd non-coherent DMA cache flushing (../shared/seeds/iommufd-noncoherent-cache-flush.txt and
 * today's drivers/iommu/iommufd): VMM threads issuing IOAS/HWPT ioctls, in-kernel access drivers,
 * devices doing (non-)snooped DMA through the domains, and user threads touching the memory, over
 * one io_pagetable per IOAS with areas sharing iopt_pages, a CPU cache model, and the flush
 * policies side by side (--set policy=).
 */
import type { LockKind } from '../../core/model/locks.ts';
import type { ActorSnapshotView, QuiescenceView } from '../../core/model/monitor.ts';
import type { DataPort } from '../../core/model/kind.ts';
import type { ActorSpec, Params, Scenario, WorldSpec } from '../../core/model/scenario.ts';
import { CpuCache } from '../../kernel/cpuCache.ts';
import { lockdep } from '../../kernel/lockdep.ts';
import { accessKind, cpuKind, deviceKind, vmmKind } from './machines/index.ts';
import type { FlushWorkload, VmmOp } from './machines/ops.ts';
import {
  type NcState,
  failAtomic,
  ioctlsComplete,
  itreeConsistent,
  judgeMap,
  judgeRead,
  judgeSkip,
  judgeUnpin,
  kernelDestroySucceeds,
  kernelWarn,
  ncCleanAtUnpin,
  ncFlushBeforeMap,
  ncNoStaleRead,
  ncSkipOnlyIfFlushed,
  noUnpinWhileMapped,
  noUseAfterFree,
  pinBalance,
  track,
} from './specs/index.ts';
import { IommufdState } from './state/iommufd.ts';
import { CACHE, POLICIES, type Policy, STATE, SYSTEM, XA_LOCK, destroyRwsem, domainsLock, ioasMutex, iovaLock, pagesMutex } from './types.ts';
import { flushBugs } from './variants.ts';
import { PFN_LAYOUTS, PRESETS, drawWorkload, pfnLayout } from './workload.ts';

export const flushScenario: Scenario = {
  name: SYSTEM,
  description:
    'iommufd non-coherent DMA cache flushing: io_pagetable areas over shared iopt_pages (COPY, vfio-compat split), domains coherent or not, fill/unfill/unpin, accesses, a CPU cache model, and the flush policies side by side',
  parameters: [
    { name: 'policy', description: 'cache flush policy: none (upstream today), seed (the v1 patch), per-fill (the reviewers\' design: the fixed model), sticky-lazy, storage-hint, per-span', type: 'enum', default: 'per-fill', values: [...POLICIES] },
    { name: 'workload', description: 'random, or a canonical schedule (the cost table S1..S6 and the variants\' interleavings)', type: 'enum', default: 'random', values: [...PRESETS] },
    { name: 'pages', description: 'user pages the VMM maps from (uptr 0..pages-1)', type: 'int', default: 8, min: 2, max: 16 },
    { name: 'pfnLayout', description: 'physical layout of the user pages: runs of n contiguous page frames, or carry (100-102, 200, ...)', type: 'enum', default: 'runs:2', values: [...PFN_LAYOUTS] },
    { name: 'ioas', description: 'IOASes (random workload; COPY may cross them)', type: 'int', default: 1, min: 1, max: 2 },
    { name: 'vmmThreads', description: 'VMM threads issuing ioctls (random workload)', type: 'int', default: 1, min: 1, max: 2 },
    { name: 'accessDrivers', description: 'in-kernel access drivers (random workload)', type: 'int', default: 1, min: 0, max: 1 },
    { name: 'devices', description: 'DMA devices the HWPTs are attached to (random workload)', type: 'int', default: 2, min: 0, max: 2 },
    { name: 'cpuWriters', description: 'user threads loading and storing to the mapped memory', type: 'int', default: 1, min: 0, max: 2 },
    { name: 'cpuOps', description: 'loads/stores per user thread', type: 'int', default: 4, min: 0, max: 16 },
    { name: 'dmaOps', description: 'DMAs per device while attached', type: 'int', default: 4, min: 0, max: 16 },
    { name: 'randomOps', description: 'ioctls per VMM thread before its teardown (random workload)', type: 'int', default: 6, min: 0, max: 16 },
    { name: 'batchEntries', description: 'pfn_batch array_size (entries; an entry is a run of contiguous frames)', type: 'int', default: 2, min: 1, max: 8 },
    { name: 'disableLargePages', description: 'IOMMU_OPTION_HUGE_PAGES=0 / vfio type1 mode from the start (needed for the vfio-compat split)', type: 'boolean', default: true },
    { name: 'initDirty', description: "page frames start with the host's data in a dirty line over the previous owner's memory: all, none, or drawn per page", type: 'enum', default: 'all', values: ['all', 'none', 'draw'] },
    { name: 'allocFailRate', description: 'chance that each allocation / iommu_map / locked_vm fail site fails', type: 'number', default: 0.02, min: 0, max: 1 },
    { name: 'gupFailRate', description: 'chance that each pin_user_pages fails', type: 'number', default: 0.02, min: 0, max: 1 },
    { name: 'failNth', description: 'fail exactly the n-th fail site reached (0-based, as iommufd_fail_nth); -1: use the rates', type: 'int', default: -1, min: -1, max: 200 },
    { name: 'preferNcStorage', description: 'storage-hint: storage_domain prefers a non-coherent domain', type: 'boolean', default: false },
    { name: 'seedCntInside', description: 'seed: change noncoherent_domain_cnt inside iopt_table_add/remove_domain (Jason\'s ask) instead of v1\'s own critical sections', type: 'boolean', default: false },
    { name: 'costMode', description: 'the non-coherent monitors count violations (metrics) instead of failing the run (bench)', type: 'boolean', default: false },
  ],
  bugs: flushBugs,
  // Order matters only when one step breaks several: the specific monitors first, the WARN net last.
  monitors: [
    lockdep,
    itreeConsistent,
    noUseAfterFree,
    kernelDestroySucceeds,
    pinBalance,
    noUnpinWhileMapped,
    ncSkipOnlyIfFlushed,
    ncFlushBeforeMap,
    ncNoStaleRead,
    ncCleanAtUnpin,
    failAtomic,
    kernelWarn,
    ioctlsComplete,
  ],
  build(p, _bug, data) {
    return buildWorld(p, drawWorkload(p, data), data);
  },
  stepEstimate(p: Params) {
    if (p.workload !== 'random') return 60;
    return Math.max(40, Number(p.vmmThreads) * (Number(p.randomOps) + 3) * 12 + Number(p.accessDrivers) * 30 + Number(p.cpuWriters) * Number(p.cpuOps) + Number(p.devices) * Number(p.dmaOps));
  },
  metrics(q: QuiescenceView) {
    const st = q.shared?.(STATE) as IommufdState | undefined;
    const cache = q.shared?.(CACHE) as CpuCache | undefined;
    const vmms = Object.values(q.actors).filter((a: ActorSnapshotView) => a.kind === `${SYSTEM}.vmm`);
    const failed = vmms.reduce((n, a) => n + ((a.context.rcs as number[]) ?? []).filter((rc) => rc < 0).length, 0);
    const ioctls = vmms.reduce((n, a) => n + ((a.context.rcs as number[]) ?? []).length, 0);
    return {
      flushes: cache?.s.flushes ?? 0,
      pinnedPages: st?.s.pinsTaken ?? 0,
      readbacks: st?.s.readbacks ?? 0,
      ioctls,
      failedIoctls: failed,
    };
  },
  /** Costs that need the history: the non-coherent violations counted (not only the first), and the skips. */
  observer() {
    const s: NcState = {};
    const out = { staleReads: 0, dirtyAtMap: 0, dirtyAtUnpin: 0, badSkips: 0, skips: 0, ncMaps: 0 };
    return {
      onStep(rec) {
        for (const o of rec.obs) {
          if (judgeRead(o)) out.staleReads++;
          if (judgeMap(s, o)) out.dirtyAtMap++;
          if (judgeSkip(s, o)) out.badSkips++;
          if (o.what === 'flush-decision' && o.decision === 'skip') out.skips++;
          if (o.what === 'iommu-map' && o.nc) out.ncMaps++;
          track(s, o);
          if (judgeUnpin(s, o)) out.dirtyAtUnpin++;
        }
      },
      result: () => ({ ...out }),
    };
  },
  derive(t): Record<string, number> {
    const r2 = (x: number) => Math.round(x * 1000) / 1000;
    return t.pinnedPages ? { flushesPerPinnedPage: r2(t.flushes / t.pinnedPages) } : {};
  },
};

/**
 * The world of one run for a workload (drawn, a preset, or hand-written: the same machines run
 * it). `data` draws the initial cache state when initDirty=draw.
 */
export function buildWorld(p: Params, w: FlushWorkload, data: DataPort): WorldSpec {
  const userPfn = pfnLayout(String(p.pfnLayout), Number(p.pages));
  const init = userPfn.map((pfn) => ({
    pfn,
    dirty: p.initDirty === 'all' ? true : p.initDirty === 'none' ? false : data.chance(`init:${pfn}:dirty`, 0.5),
  }));
  const maps = w.vmm.flat().filter((o: VmmOp) => o.op === 'map').length;
  const maxPages = Math.max(1, maps);
  const ioasCount = Math.max(Number(p.ioas), ...w.vmm.flat().map((o) => ('ioas' in o ? o.ioas + 1 : o.op === 'copy' ? o.dst.ioas + 1 : 1)));
  const actors: ActorSpec[] = [];
  // Devices first: in an in-order schedule a device DMAs as soon as it can.
  w.dev.forEach((d, i) => actors.push({ id: `dev${i}`, kind: deviceKind, input: { id: `dev${i}`, dmaOps: d.dmaOps } }));
  w.vmm.forEach((ops, i) => actors.push({ id: `vmm${i}`, kind: vmmKind, input: { id: `vmm${i}`, ops, maxPages } }));
  w.access.forEach((ops, i) => actors.push({ id: `access${i}`, kind: accessKind, input: { id: `access${i}`, ops, maxPages } }));
  w.cpu.forEach((ops, i) => actors.push({ id: `cpu${i}`, kind: cpuKind, input: { id: `cpu${i}`, ops, userPfn } }));
  const locks: { name: string; kind: LockKind }[] = [{ name: XA_LOCK, kind: 'spinlock' }];
  for (let k = 0; k < ioasCount; k++) locks.push({ name: ioasMutex(k), kind: 'mutex' }, { name: domainsLock(k), kind: 'rwsem' }, { name: iovaLock(k), kind: 'rwsem' });
  for (let i = 0; i < maxPages; i++) locks.push({ name: pagesMutex(`P${i}`), kind: 'mutex' });
  const objects = new Set<string>([...w.access.map((_, i) => `access${i}`), ...w.vmm.flat().flatMap((o) => (o.op === 'attach' ? [o.hwpt] : o.op === 'destroy' ? [o.obj] : []))]);
  for (const o of objects) locks.push({ name: destroyRwsem(o), kind: 'rwsem' });
  const ids = actors.map((a) => a.id);
  return {
    actors,
    locks,
    shared: (env) => {
      const cache = new CpuCache(CACHE, init);
      const st = new IommufdState(
        {
          policy: String(p.policy) as Policy,
          failNth: Number(p.failNth),
          allocFailRate: Number(p.allocFailRate),
          gupFailRate: Number(p.gupFailRate),
          batchEntries: Number(p.batchEntries),
          preferNcStorage: Boolean(p.preferNcStorage),
          seedCntInside: Boolean(p.seedCntInside),
          maxPages,
          actors: ids,
        },
        env.locks,
        cache,
        userPfn,
        ioasCount,
        Boolean(p.disableLargePages),
      );
      return { states: [st, cache] };
    },
  };
}
