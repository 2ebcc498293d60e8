/**
 * A present PTE is only ever upgraded in place (more permission, same page) or cleared by a
 * zap; a set_pte that replaces it with another page means two faults both saw pte_none and
 * both installed: the first page is leaked, and the device answered for it is told the fault
 * succeeded for a page the mm no longer maps.
 */
import type { Monitor, Verdict } from '../../../core/model/monitor.ts';
import { hex } from './mmFormat.ts';

export const noLostPage: Monitor = {
  name: 'no-lost-page',
  description: 'a present PTE is never overwritten with a different page (that page would leak)',
  kind: 'safety',
  observes: ['obs:pte-set', 'obs:pte-zap'],
  create() {
    const owner = new Map<number, { pfn: number; step: number; actor: string }>();
    return {
      onStep(rec): Verdict | null {
        for (const o of rec.obs) {
          const addr = Number(o.addr);
          if (o.what === 'pte-zap') {
            owner.delete(addr);
            continue;
          }
          if (o.what !== 'pte-set') continue;
          const oldPfn = Number(o.oldPfn);
          const pfn = Number(o.pfn);
          if (oldPfn !== 0 && oldPfn !== pfn) {
            const prev = owner.get(addr);
            const who = prev ? `installed by ${prev.actor} at step ${prev.step}` : 'already present';
            return {
              message: `lost page: ${o.actor} (${o.by}) overwrote the PTE of ${hex(addr)} (pfn ${oldPfn}, ${who}) with pfn ${pfn}; pfn ${oldPfn} is leaked`,
              actors: prev ? [o.actor, prev.actor] : [o.actor],
              messages: [],
            };
          }
          owner.set(addr, { pfn, step: rec.i, actor: o.actor });
        }
        return null;
      },
    };
  },
};
