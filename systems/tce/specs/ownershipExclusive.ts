/**
 * ownership-exclusive: VFIO and the kernel's DMA-API never use the same table at once.
 *  - it_map bits change only under the lock of the pool they belong to (iommu_range_alloc,
 *    __iommu_free), and ownership changes fill or clear it_map holding large_pool.lock and every
 *    pools[i].lock (iommu_take_ownership / iommu_release_ownership, b82c75bfbeb5);
 *  - ownership is taken only when no DMA-API mapping is live (iommu_table_in_use → -EBUSY; on
 *    powernv 6.17 the group claim: -EBUSY while a driver is bound);
 *  - no DMA-API allocation succeeds while VFIO owns the table.
 */
import type { Monitor } from '../../../core/model/monitor.ts';
import { stateful } from '../../../core/model/monitor.ts';
import { LARGE_POOL, poolLock, poolOf } from '../state/pools.ts';
import { inOrder, verdict } from './util.ts';

interface St {
  owner: 'kernel' | 'vfio';
  live: Record<string, number>;
}

export const ownershipExclusive: Monitor = {
  name: 'ownership-exclusive',
  description: 'it_map written only under its pool lock (all pool locks for take/release); ownership taken only with no live DMA-API mapping; no DMA-API allocation while VFIO owns the table',
  kind: 'safety',
  observes: ['obs:itmap', 'obs:own', 'obs:dma-map'],
  create(params) {
    const size = Number(params.windowPages);
    const nrPools = Number(params.nrPools);
    const all = [LARGE_POOL, ...Array.from({ length: nrPools }, (_, i) => poolLock(i))];
    return stateful<St>(
      { owner: 'kernel', live: {} },
      {
        onStep(st, rec) {
          for (const o of inOrder(rec)) {
            if (o.what === 'itmap') {
              const m = o as unknown as { op: string; start: number; n: number; locks: string[]; by: string };
              const needed = m.op === 'fill' || m.op === 'empty' ? all : [...new Set(Array.from({ length: m.n }, (_, k) => poolOf(m.start + k, size, nrPools)))];
              const missing = needed.filter((l) => !m.locks.includes(l));
              if (missing.length) return verdict(`it_map ${m.op} of [${m.start}, ${m.start + m.n}) by ${o.actor} in ${m.by} holding {${m.locks.join(', ') || 'no lock'}}, without ${missing.join(', ')}`, [o.actor]);
            } else if (o.what === 'own') {
              const w = o as unknown as { op: string; owner: 'kernel' | 'vfio'; by: string };
              const live = Object.keys(st.live).length;
              if (w.op === 'take' && live > 0) return verdict(`${o.actor} took the table for VFIO (${w.by}) while the DMA-API has ${live} live mapping(s) at ${Object.keys(st.live).join(', ')}`, [o.actor]);
              if (w.op !== 'take-busy') st.owner = w.owner;
            } else if (o.what === 'dma-map') {
              const d = o as unknown as { op: string; start: number; n: number; ok: boolean };
              const key = `[${d.start}, ${d.start + d.n})`;
              if (d.op === 'map' && d.ok) {
                if (st.owner === 'vfio') return verdict(`DMA-API allocation ${key} by ${o.actor} succeeded while VFIO owns the table`, [o.actor]);
                st.live[key] = d.n;
              } else if (d.op === 'unmap') delete st.live[key];
            }
          }
          return null;
        },
      },
    );
  },
};
