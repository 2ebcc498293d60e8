/**
 * nc-clean-at-unpin: when the last pin of a page frame that was mapped non-coherently in this pin
 * lifetime goes, no CPU line (dirty or clean) older than its last non-coherent unmap is left: a
 * dirty one would later overwrite what the device wrote, a clean one is stale for the next owner
 * (ksm, the page allocator). The seed flushes lazily here; the reviewers' designs flush here or
 * right after the unmap.
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { type NcState, judgeUnpin, track } from './ncTracker.ts';

export const ncCleanAtUnpin: Monitor = {
  name: 'nc-clean-at-unpin',
  description: 'no stale or dirty line older than the last non-coherent unmap at the last unpin of a page',
  kind: 'safety',
  observes: ['obs:iommu-map', 'obs:iommu-unmap', 'obs:pin', 'obs:unpin'],
  create(params) {
    return stateful<NcState>({}, {
      onStep(s, rec) {
        for (const o of rec.obs) {
          track(s, o);
          const v = params.costMode ? null : judgeUnpin(s, o);
          if (v) return { message: v, actors: [o.actor], messages: [] };
        }
        return null;
      },
    });
  },
};
