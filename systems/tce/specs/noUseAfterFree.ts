/**
 * no-use-after-free (TCE objects): no use of a region, table or level page after it was freed
 * (mm_iommu_free, iommu_tce_table_put, pnv_pci_ioda2_table_do_free_pages), no double free. A
 * region used between mm_iommu_lookup() and mm_iommu_mapped_inc() outside RCU can be freed by
 * a concurrent UNREGISTER's callback in between.
 */
import type { Monitor } from '../../../core/model/monitor.ts';
import { stateful } from '../../../core/model/monitor.ts';
import { inOrder, verdict } from './util.ts';

interface St {
  freed: Record<string, { step: number; by: string }>;
}

export const noUseAfterFree: Monitor = {
  name: 'no-use-after-free',
  description: 'no use of a freed region, table or level page; no double free',
  kind: 'safety',
  observes: ['obs:alloc', 'obs:free', 'obs:use'],
  create() {
    return stateful<St>(
      { freed: {} },
      {
        onStep(st, rec) {
          for (const o of inOrder(rec)) {
            if (o.what !== 'alloc' && o.what !== 'free' && o.what !== 'use') continue;
            const h = o as unknown as { obj: string; by?: string };
            if (o.what === 'alloc') {
              delete st.freed[h.obj];
              continue;
            }
            const f = st.freed[h.obj];
            if (f) return verdict(`${o.what === 'free' ? 'double free' : 'use after free'}: ${o.actor} (${h.by}) touched ${h.obj}, freed at step ${f.step} by ${f.by}`, [o.actor]);
            if (o.what === 'free') st.freed[h.obj] = { step: rec.i, by: String(h.by) };
          }
          return null;
        },
      },
    );
  },
};
