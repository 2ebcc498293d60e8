/**
 * no-unpin-while-mapped-or-accessed: "For security we must not unpin something that is still DMA
 * mapped" (__iopt_area_unfill_domain): at an unpin of (P, index, pfn) no domain still holds an IOPTE
 * made from it, and no in-kernel access of P covers the index.
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { observed } from '../../../core/model/observations.ts';
import type { FlushObservations } from '../types.ts';

export const noUnpinWhileMapped: Monitor = {
  name: 'no-unpin-while-mapped-or-accessed',
  description: 'no page is unpinned while a domain maps it or an access holds it',
  kind: 'safety',
  observes: ['obs:unpin'],
  create() {
    return stateful<Record<string, never>>({}, {
      onStep(_s, rec) {
        for (const o of observed<FlushObservations, 'unpin'>(rec, 'unpin')) {
          if (o.error) continue;
          if (o.mappedBy.length) return { message: `${o.actor} (${o.path}) unpins pfn ${o.pfn} (${o.pages}[${o.idx}]) while still mapped at ${o.mappedBy.join(', ')}`, actors: [o.actor], messages: [] };
          if (o.accessed) return { message: `${o.actor} (${o.path}) unpins pfn ${o.pfn} (${o.pages}[${o.idx}]) while an access of ${o.pages} covers index ${o.idx}`, actors: [o.actor], messages: [] };
        }
        return null;
      },
    });
  },
};
