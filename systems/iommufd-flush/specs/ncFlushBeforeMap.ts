/**
 * nc-flush-before-map: when a page frame first becomes reachable through a non-coherent domain
 * (its first non-coherent IOPTE), it has no dirty CPU line written before the ioctl that maps it
 * began. Writes racing the ioctl are the user's own business; an older dirty line means a no-snoop
 * read sees memory the CPU never wrote back (the host's initialisation lost: the seed's leak).
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { type NcState, judgeMap, track } from './ncTracker.ts';

export const ncFlushBeforeMap: Monitor = {
  name: 'nc-flush-before-map',
  description: 'no page is first mapped into a non-coherent domain with a dirty CPU line older than the ioctl',
  kind: 'safety',
  observes: ['obs:iommu-map', 'obs:iommu-unmap', 'obs:pin', 'obs:flush-decision'],
  create(params) {
    return stateful<NcState>({}, {
      onStep(s, rec) {
        for (const o of rec.obs) {
          const v = params.costMode ? null : judgeMap(s, o);
          if (v) return { message: v, actors: [o.actor], messages: [] };
          track(s, o);
        }
        return null;
      },
    });
  },
};
