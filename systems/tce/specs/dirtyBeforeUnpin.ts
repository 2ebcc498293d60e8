/**
 * dirty-before-unpin: when a writable TCE (FROM_DEVICE / BIDIRECTIONAL) is cleared or replaced,
 * its page is marked dirty (iommu_tce_xchg_no_kill: SetPageDirty) before the page can lose its
 * pin, so writeback sees what the device wrote; and never for device memory, which has no
 * struct page (mm_iommu_is_devmem, c10c21efa4bc).
 */
import type { Monitor } from '../../../core/model/monitor.ts';
import { stateful } from '../../../core/model/monitor.ts';
import { inOrder, isDevmem, verdict } from './util.ts';

interface St {
  /** pfn → the entry whose writable TCE was cleared without SetPageDirty yet. */
  pending: Record<number, number>;
}

export const dirtyBeforeUnpin: Monitor = {
  name: 'dirty-before-unpin',
  description: 'a page whose writable TCE was cleared is SetPageDirty before it is unpinned; never SetPageDirty on device memory',
  kind: 'safety',
  observes: ['obs:tce-set', 'obs:set-dirty', 'obs:unpin'],
  create() {
    return stateful<St>(
      { pending: {} },
      {
        onStep(st, rec) {
          for (const o of inOrder(rec)) {
            if (o.what === 'tce-set') {
              const t = o as unknown as { entry: number; old: { pfn: number; perm: string; src: string } | null };
              if (t.old && t.old.perm === 'RW' && t.old.src !== 'dma' && !isDevmem(t.old.pfn)) st.pending[t.old.pfn] = t.entry;
            } else if (o.what === 'set-dirty') {
              const d = o as unknown as { pfn: number; devmem: boolean; by: string };
              if (d.devmem) return verdict(`SetPageDirty(pfn_to_page(${d.pfn})) on device memory (no struct page) in ${d.by}`, [o.actor]);
              delete st.pending[d.pfn];
            } else if (o.what === 'unpin') {
              const u = o as unknown as { pfn: number; holder: string };
              const e = st.pending[u.pfn];
              if (e !== undefined) return verdict(`pfn ${u.pfn} unpinned (${u.holder}, by ${o.actor}) after its writable TCE at entry ${e} was cleared, without SetPageDirty: the device's writes can be lost`, [o.actor]);
            }
          }
          return null;
        },
      },
    );
  },
};
