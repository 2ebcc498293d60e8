/**
 * unpin-valid-page: unpin_user_page()/put_page() get struct page pointers, never the physical
 * addresses mm_iommu_do_alloc() stores in hpas[] once it converts them (c4b78169e366: the
 * overlap check's free_exit ran after the conversion and put_page()d physical addresses).
 */
import type { Monitor } from '../../../core/model/monitor.ts';
import { stateful } from '../../../core/model/monitor.ts';
import { obsOf, verdict } from './util.ts';

export const unpinValidPage: Monitor = {
  name: 'unpin-valid-page',
  description: 'unpin/put_page only on page pointers, never on converted physical addresses',
  kind: 'safety',
  observes: ['obs:unpin'],
  create() {
    return stateful<Record<string, never>>(
      {},
      {
        onStep(_st, rec) {
          for (const o of obsOf(rec, 'unpin')) {
            if (o.value === 'phys') return verdict(`${o.actor} unpinned ${o.holder}'s hpas entry for pfn ${o.pfn} after hpages[] were converted to physical addresses: put_page() on a physical address`, [o.actor]);
          }
          return null;
        },
      },
    );
  },
};
