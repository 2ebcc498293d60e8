/**
 * no-dma-to-freed-page: the device never reaches memory that is not a live page: a user page
 * freed (no pin, no mapping) while the TCE cache still translated to it, or the garbage page
 * the 2012 seed built a TCE from after a failed get_user_pages_fast.
 */
import type { Monitor } from '../../../core/model/monitor.ts';
import { stateful } from '../../../core/model/monitor.ts';
import { obsOf, verdict } from './util.ts';

export const noDmaToFreedPage: Monitor = {
  name: 'no-dma-to-freed-page',
  description: 'device DMA only reaches live pages (not freed memory, not a garbage page)',
  kind: 'safety',
  observes: ['obs:dma'],
  create() {
    return stateful<Record<string, never>>(
      {},
      {
        onStep(_st, rec) {
          for (const o of obsOf(rec, 'dma')) {
            if (!o.ok || o.pfn === null) continue;
            if (o.pageState === 'free' || o.pageState === 'bogus') {
              return verdict(`device ${o.access === 'W' ? 'write' : 'read'} through entry ${o.entry} (${o.hit ? 'TCE cache hit' : 'table walk'}) reached pfn ${o.pfn}, which is ${o.pageState === 'free' ? 'freed memory' : 'not a page (uninitialised page pointer)'} (pins ${o.pins})`, [o.actor]);
            }
          }
          return null;
        },
      },
    );
  },
};
