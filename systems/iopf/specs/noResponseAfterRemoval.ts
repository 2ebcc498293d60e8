/** Once a device's removal has completed (REMOVED delivered), no page response reaches it. */
import { type Monitor, type Verdict, stateful } from '../../../core/model/monitor.ts';
import { deliveredOf } from '../observations.ts';

export const noResponseAfterRemoval: Monitor = {
  name: 'no-response-after-removal',
  description: 'no page response reaches a device after its removal completed',
  kind: 'safety',
  observes: ['REMOVED', 'PAGE_RESPONSE'],
  create() {
    return stateful(
      { removedAt: new Map<string, number>() },
      {
        onStep({ removedAt }, rec): Verdict | null {
          const removed = deliveredOf(rec, 'REMOVED');
          if (removed) removedAt.set(removed.to, rec.i);
          const d = deliveredOf(rec, 'PAGE_RESPONSE');
          if (d && removedAt.has(d.to)) {
            const r = d.payload.resp;
            return {
              message: `${d.to} received a ${r.code} response for grpid ${r.grpid} after its removal completed at step ${removedAt.get(d.to)}`,
              actors: [d.to, d.from],
              messages: [d.id],
            };
          }
          return null;
        },
      },
    );
  },
};
