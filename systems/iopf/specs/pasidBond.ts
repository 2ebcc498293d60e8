/**
 * A PASID is never reused while a fault for it is queued: every fault a group holds was issued
 * under the binding of the PASID whose attach handle the report path found. A fault issued
 * under an earlier binding and handled under a later one would be resolved in the wrong
 * address space. (The binding a request was issued under is stamped by the device model.)
 */
import { type Monitor, type Verdict, stateful } from '../../../core/model/monitor.ts';
import { observed } from '../../../core/model/observations.ts';
import type { IopfObservations } from '../observations.ts';

export const pasidBond: Monitor = {
  name: 'pasid-not-reused-while-queued',
  description: 'no fault issued under one binding of a PASID is handled under a later binding',
  kind: 'safety',
  observes: ['obs:attach-handle'],
  create() {
    // Judges each step on its own: no state between steps.
    return stateful(
      {},
      {
        onStep(_st, rec): Verdict | null {
          for (const o of observed<IopfObservations, 'attach-handle'>(rec, 'attach-handle')) {
            const stale = o.bonds.findIndex((b) => b !== o.gen);
            if (stale >= 0) {
              return {
                message: `${o.gid} holds a fault issued under binding ${o.bonds[stale]} of pasid ${o.pasid} (${o.dev}), but the report path found binding ${o.gen}: a fault of the previous address space is handled in the new one`,
                actors: [o.actor],
                messages: rec.delivered ? [rec.delivered.id] : [],
              };
            }
          }
          return null;
        },
      },
    );
  },
};
