/**
 * A PASID is never reused while a fault for it is queued: every fault a group holds was issued
 * under the binding of the PASID whose attach handle the report path found. A fault issued
 * under an earlier binding and handled under a later one would be resolved in the wrong
 * address space. (The binding a request was issued under is stamped by the device model.)
 */
import type { Monitor, Verdict } from '../../../core/model/monitor.ts';

export const pasidBond: Monitor = {
  name: 'pasid-not-reused-while-queued',
  description: 'no fault issued under one binding of a PASID is handled under a later binding',
  kind: 'safety',
  observes: ['obs:attach-handle'],
  create() {
    return {
      onStep(rec): Verdict | null {
        for (const o of rec.obs) {
          if (o.what !== 'attach-handle') continue;
          const bonds = o.bonds as number[];
          const stale = bonds.findIndex((b) => b !== o.gen);
          if (stale >= 0) {
            return {
              message: `${o.gid} holds a fault issued under binding ${bonds[stale]} of pasid ${o.pasid} (${o.dev}), but the report path found binding ${o.gen}: a fault of the previous address space is handled in the new one`,
              actors: [o.actor],
              messages: rec.delivered ? [rec.delivered.id] : [],
            };
          }
        }
        return null;
      },
    };
  },
};
