/**
 * nc-skip-only-if-flushed: a policy may skip a flush only where that very page is known clean.
 * Before a non-coherent map: the page is already in a non-coherent domain, or was flushed after its
 * last CPU write. Before the last unpin of a page non-coherently mapped in this pin lifetime: it was
 * flushed after its last non-coherent unmap. A flag on the whole iopt_pages proves neither for
 * every page once COPY and splits share it (Jason, 2024-05-14).
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { type NcState, judgeSkip, track } from './ncTracker.ts';

export const ncSkipOnlyIfFlushed: Monitor = {
  name: 'nc-skip-only-if-flushed',
  description: 'a flush is skipped only where that very page is known flushed',
  kind: 'safety',
  observes: ['obs:flush-decision', 'obs:flush', 'obs:cpu', 'obs:iommu-map', 'obs:iommu-unmap', 'obs:pin'],
  create(params) {
    return stateful<NcState>({}, {
      onStep(s, rec) {
        for (const o of rec.obs) {
          const v = params.costMode ? null : judgeSkip(s, o);
          if (v) return { message: v, actors: [o.actor], messages: [] };
          track(s, o);
        }
        return null;
      },
    });
  },
};
