/**
 * detach-populates-full (d0a78f91761f): when a group not in pinned scope leaves the container
 * while tracking, every remaining dma's bitmap is all ones before iommu->lock is released: the
 * group's past DMA is reported even though the summary may now say "pinned scope".
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { observed } from '../../../core/model/observations.ts';
import type { VfioObs } from '../types.ts';

export const detachPopulatesFull: Monitor = {
  name: 'detach-populates-full',
  description: 'detaching a non-pinned group while tracking leaves every dma bitmap all ones',
  kind: 'safety',
  observes: ['obs:group-detach'],
  create() {
    return stateful({}, {
      onStep(_st, rec) {
        for (const d of observed<VfioObs, 'group-detach'>(rec, 'group-detach')) {
          if (d.scopeWas || !d.tracking) continue;
          for (const [dma, bits] of Object.entries(d.bitmaps)) {
            const head = bits.split('+')[0];
            if (head.includes('0')) {
              return { message: `group ${d.g} (${d.kind}, not in pinned scope) detached while tracking, but dma ${dma}'s bitmap is ${head} (not all dirty): its DMA since the last GET is lost`, actors: [d.actor], messages: [] };
            }
          }
        }
        return null;
      },
    });
  },
};
