/**
 * tce.dmaN: the host's kernel driver for the device, mapping buffers through the DMA-API on the
 * kernel's default table (arch/powerpc/kernel/iommu.c, 6.17: iommu_alloc → iommu_range_alloc
 * → it_ops->set; iommu_free → __iommu_free), until it is unbound from the device.
 *
 * pnv_tce_build allocates missing levels on demand with the same pnv_tce() as VFIO (GFP_ATOMIC,
 * cmpxchg since 56090a3902c8: "copying files via rsync" hit the race here). Its allocation is
 * never failed in the model: pnv_tce_build dereferences pnv_tce()'s NULL (docs/tce.md).
 */
import type { Op } from '../workload.ts';
import { LARGE_POOL, poolLock } from '../state/index.ts';
import { GROUP_MUTEX, exchange, installLevel, kill } from './common.ts';
import { type Exec, type PathDef, type ProgramDef, threadKind } from './interp.ts';

const need = (lock: string) => ({ lock, mode: 'write' as const });
const lockOf = (p: number) => (p < 0 ? LARGE_POOL : poolLock(p));
const ALL_POOLS = [LARGE_POOL, poolLock(0), poolLock(1), poolLock(2), poolLock(3)];

function mapPath(): PathDef {
  return {
    entry: 'start',
    steps: {
      // iommu_alloc → iommu_range_alloc: pool = pools[raw_cpu_read(iommu_pool_hash) & (nr_pools - 1)].
      start: {
        next: ['lock'],
        fn: 'iommu_range_alloc',
        run: (x) => {
          x.f.p = x.data.int(`pool-hash:${x.self}`, x.p('nrPools'));
          x.f.tried = 0;
          x.go('lock');
        },
      },
      // spin_lock_irqsave(&(pool->lock), flags).
      lock: {
        next: ['alloc'],
        fn: 'iommu_range_alloc',
        needs: (c) => [need(lockOf(c.f.p))],
        facets: [],
        run: (x) => {
          x.lock(lockOf(x.f.p));
          x.go('alloc');
        },
      },
      // iommu_area_alloc on it_map from the pool's hint; full → unlock, the next pool, then the
      // large pool, then DMA_MAPPING_ERROR. Found: the bits are set under the pool lock.
      alloc: {
        next: ['lock', 'build', 'exit'],
        fn: 'iommu_range_alloc',
        facets: ['tce.pools'],
        run: (x) => {
          const op = x.f.op as Extract<Op, { op: 'dma_map' }>;
          const Pl = x.S.pools;
          const lock = lockOf(x.f.p);
          const pool = x.f.p < 0 ? Pl.d.large : Pl.d.pools[x.f.p];
          const start = Pl.findArea(pool, op.pages);
          if (start < 0) {
            x.unlock(lock);
            x.f.tried++;
            if (x.f.p >= 0 && x.f.tried < x.p('nrPools')) {
              x.f.p = (x.f.p + 1) % x.p('nrPools');
              return x.go('lock');
            }
            if (x.f.p >= 0) {
              x.f.p = -1;
              return x.go('lock');
            }
            x.obs('dma-map', { op: 'map', start: -1, n: op.pages, ok: false, owner: Pl.d.owner });
            return x.exit(-12);
          }
          Pl.setBits(start, op.pages, [...x.c.held], x.where);
          pool.hint = start + op.pages;
          x.unlock(lock);
          const id = `${x.self}:${x.c.next}`;
          Pl.d.mappings[id] = { start, n: op.pages, pfns: [] };
          Object.assign(x.f, { id, start, i: 0 });
          x.obs('dma-map', { op: 'map', start, n: op.pages, ok: true, owner: Pl.d.owner });
          x.go('build');
        },
      },
      // it_ops->set (pnv_ioda2_tce_build → pnv_tce_build): one TCE per step, levels on demand.
      build: {
        next: ['build', 'install', 'inval'],
        fn: 'pnv_tce_build',
        run: (x) => {
          const Pl = x.S.pools;
          const m = Pl.d.mappings[x.f.id];
          const idx = m.start + x.f.i;
          const pfn = m.pfns[x.f.i] ?? x.S.mem.allocKernel();
          m.pfns[x.f.i] = pfn;
          const r = exchange(x, Pl.d.table, idx, { pfn, perm: 'RW', src: 'dma' }, { ownKill: true });
          if (!r.ok) {
            const level = x.S.tables.allocLevel(Pl.d.table, false, r.walk.depth);
            x.f.pending = { tid: Pl.d.table, mirror: false, holder: r.walk.holder, n: r.walk.n, level, retry: 'build' };
            return x.go('install');
          }
          x.f.i++;
          x.go(x.f.i < m.n ? 'build' : 'inval');
        },
      },
      install: { next: ['build'], fn: 'pnv_tce', run: (x: Exec) => x.go(installLevel(x)) },
      // pnv_pci_ioda2_tce_invalidate(tbl, index, npages) after the build.
      inval: {
        next: ['exit'],
        fn: 'pnv_ioda2_tce_build',
        run: (x) => {
          const m = x.S.pools.d.mappings[x.f.id];
          kill(x, x.S.pools.d.table, m.start, m.n);
          x.exit(0);
        },
      },
    },
    facets: ['tce.pools', 'tce.tables', 'tce.cache', 'tce.mem'],
    locks: ALL_POOLS,
  };
}

function unmapPath(): PathDef {
  return {
    entry: 'start',
    steps: {
      // __iommu_free: it_ops->clear (pnv_tce_free + invalidate) first …
      start: {
        next: ['lock', 'exit'],
        fn: '__iommu_free',
        run: (x) => {
          const op = x.f.op as Extract<Op, { op: 'dma_unmap' }>;
          const id = x.S.pools.d.mappings[`${x.self}:${op.idx}`] ? `${x.self}:${op.idx}` : null;
          if (!id) return x.exit(0);
          const m = x.S.pools.d.mappings[id];
          for (let i = 0; i < m.n; i++) exchange(x, x.S.pools.d.table, m.start + i, null, { ownKill: true });
          kill(x, x.S.pools.d.table, m.start, m.n);
          x.f.id = id;
          const { pools, large } = x.S.pools.d;
          x.f.p = m.start >= large.start ? -1 : pools.findIndex((q) => m.start >= q.start && m.start < q.end);
          x.go('lock');
        },
      },
      // … then bitmap_clear under get_pool(entry)'s lock; the driver frees its buffer.
      lock: {
        next: ['exit'],
        fn: '__iommu_free',
        needs: (c) => [need(lockOf(c.f.p))],
        run: (x) => {
          const Pl = x.S.pools;
          const m = Pl.d.mappings[x.f.id];
          x.lock(lockOf(x.f.p));
          Pl.clearBits(m.start, m.n, [...x.c.held], x.where);
          x.unlock(lockOf(x.f.p));
          delete Pl.d.mappings[x.f.id];
          x.obs('dma-map', { op: 'unmap', start: m.start, n: m.n, ok: true, owner: Pl.d.owner });
          for (const pfn of m.pfns) x.S.mem.freeKernel(pfn);
          x.exit(0);
        },
      },
    },
    facets: ['tce.pools', 'tce.tables', 'tce.cache', 'tce.mem'],
    locks: ALL_POOLS,
  };
}

/** The driver is unbound (device_release_driver, under the group's mutex): the group can be claimed. */
function unbindPath(): PathDef {
  return {
    entry: 'start',
    steps: {
      start: {
        next: ['exit'],
        fn: 'device_release_driver',
        needs: () => [need(GROUP_MUTEX)],
        run: (x) => {
          x.inside(GROUP_MUTEX);
          x.sleeps('mutex_lock(&group->mutex)');
          const Pl = x.S.pools;
          Pl.d.boundBy = Pl.d.boundBy.filter((t) => t !== x.self);
          Pl.d.bound = Pl.d.boundBy.length > 0;
          x.exit(0);
        },
      },
    },
    facets: ['tce.pools'],
    locks: [GROUP_MUTEX],
  };
}

export const dmaProgram: ProgramDef = {
  kind: 'tce.dma',
  paths: { dma_map: mapPath(), dma_unmap: unmapPath(), unbind: unbindPath() },
  guards: { levelCmpxchg: true },
  pathOf: (op) => op.op,
};

export const dmaKind = threadKind(dmaProgram);
