/**
 * prereg-refcount: a listed region's `used` counts the containers' tcemem references to it (plus
 * the NVLink2 driver's own for GPU RAM): when every thread is done, used equals that. A region
 * listed with used > 0 and no tcemem is orphaned: no container will ever put it, its pages stay
 * pinned, and destroy_context() WARNs (the -EBUSY of tce_iommu_unregister_pages' second
 * mm_iommu_put swallowed).
 */
import type { Monitor } from '../../../core/model/monitor.ts';
import { stateful } from '../../../core/model/monitor.ts';
import type { ContainerState } from '../state/container.ts';
import type { PreregState } from '../state/prereg.ts';
import { allDone, verdict } from './util.ts';

export const preregRefcount: Monitor = {
  name: 'prereg-refcount',
  description: "when idle, a listed region's used count equals the container references to it (no orphaned region)",
  kind: 'liveness',
  observes: [],
  create() {
    return stateful<Record<string, never>>(
      {},
      {
        atQuiescence(_st, q) {
          if (!allDone(q)) return null;
          const P = q.shared?.('tce.prereg') as PreregState;
          const C = q.shared?.('tce.container') as ContainerState;
          for (const id of P.d.list) {
            const r = P.d.regions[id];
            const refs = C.d.tcemems.filter((m) => m === id).length + (r.devmem ? 1 : 0);
            if (r.used !== refs) return verdict(`region ${id} [ua ${r.ua}, +${r.entries}) is listed with used=${r.used} but ${refs} reference(s) hold it (container tcemems: ${C.d.tcemems.join(', ') || 'none'})${refs === 0 ? ': orphaned, its pages stay pinned' : ''}`);
          }
          return null;
        },
      },
    );
  },
};
