/**
 * nc-no-stale-read: a non-snooped DMA read never returns data older than the page's current owner
 * (memory below OWNER_BASE: the previous owner's, while the host's initialisation sits in a dirty
 * CPU line). A stale read of the owner's own older data is the guest's business, not a leak.
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { judgeRead } from './ncTracker.ts';

export const ncNoStaleRead: Monitor = {
  name: 'nc-no-stale-read',
  description: "a no-snoop DMA read never returns the previous owner's data",
  kind: 'safety',
  observes: ['obs:dma'],
  create(params) {
    return stateful<Record<string, never>>({}, {
      onStep(_s, rec) {
        if (params.costMode) return null;
        for (const o of rec.obs) {
          const v = judgeRead(o);
          if (v) return { message: v, actors: [o.actor], messages: [] };
        }
        return null;
      },
    });
  },
};
