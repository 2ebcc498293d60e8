/** The hardware page-request queue never holds more entries than its depth. */
import { type Monitor, type Verdict, stateful } from '../../../core/model/monitor.ts';
import { observed } from '../../../core/model/observations.ts';
import type { IopfObservations } from '../observations.ts';

export const prqDepth: Monitor = {
  name: 'prq-depth',
  description: 'the page-request queue never holds more than its depth',
  kind: 'safety',
  observes: ['obs:prq-occupancy'],
  create() {
    // Judges each step on its own: no state between steps.
    return stateful(
      {},
      {
        onStep(_st, rec): Verdict | null {
          for (const o of observed<IopfObservations, 'prq-occupancy'>(rec, 'prq-occupancy')) {
            if (o.n > o.depth) return { message: `${o.actor} page-request queue holds ${o.n} entries, depth is ${o.depth}`, actors: [o.actor], messages: [] };
          }
          return null;
        },
      },
    );
  },
};
