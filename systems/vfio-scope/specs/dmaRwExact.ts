/**
 * dma-rw-exact (2c5af98592f6): a vfio_dma_rw write of `copied` bytes at `offset` sets exactly the
 * bits of the pages it touched, [offset >> pgshift, (offset + copied - 1) >> pgshift].
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { observed } from '../../../core/model/observations.ts';
import type { VfioObs } from '../types.ts';

export const dmaRwExact: Monitor = {
  name: 'dma-rw-exact',
  description: 'vfio_dma_rw sets exactly the dirty bits of the pages it wrote',
  kind: 'safety',
  observes: ['obs:dma-rw'],
  create() {
    return stateful({}, {
      onStep(_st, rec) {
        for (const w of observed<VfioObs, 'dma-rw'>(rec, 'dma-rw')) {
          if (!w.tracking || w.copied === 0) continue;
          const start = w.offset >> w.pgshift;
          const count = ((w.offset + w.copied - 1) >> w.pgshift) - start + 1;
          if (w.setStart !== start || w.setCount !== count) {
            return {
              message: `vfio_dma_rw by ${w.dev} wrote ${w.copied} byte(s) at offset ${w.offset} of ${w.inst} (pages ${start}..${start + count - 1}) but set bits ${w.setCount ? `${w.setStart}..${w.setStart + w.setCount - 1}` : 'none'}`,
              actors: [w.actor],
              messages: [],
            };
          }
        }
        return null;
      },
    });
  },
};
