/** The hardware page-request queue never holds more entries than its depth. */
import type { Monitor, Verdict } from '../../../core/model/monitor.ts';

export const prqDepth: Monitor = {
  name: 'prq-depth',
  description: 'the page-request queue never holds more than its depth',
  kind: 'safety',
  observes: ['obs:prq-occupancy'],
  create() {
    return {
      onStep(rec): Verdict | null {
        for (const o of rec.obs) {
          if (o.what === 'prq-occupancy' && (o.n as number) > (o.depth as number)) {
            return { message: `${o.actor} page-request queue holds ${o.n} entries, depth is ${o.depth}`, actors: [o.actor], messages: [] };
          }
        }
        return null;
      },
    };
  },
};
