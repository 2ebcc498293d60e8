/**
 * A present PTE is only ever upgraded in place (more permission, same page) or cleared by a
 * zap; a set_pte that replaces it with another page means two faults both saw pte_none and
 * both installed: the first page is leaked, and the device answered for it is told the fault
 * succeeded for a page the mm no longer maps.
 */
import { type Monitor, type Verdict, stateful } from '../../../core/model/monitor.ts';
import type { MmObservations } from '../memory.ts';
import { hex } from './mmFormat.ts';
import { observing } from './observing.ts';

const mmObserved = observing<MmObservations>();

export const noLostPage: Monitor = {
  name: 'no-lost-page',
  description: 'a present PTE is never overwritten with a different page (that page would leak)',
  kind: 'safety',
  observes: ['obs:pte-set', 'obs:pte-zap'],
  create() {
    return stateful(
      { owner: new Map<number, { pfn: number; step: number; actor: string }>() },
      {
        onStep({ owner }, rec): Verdict | null {
          for (const o of mmObserved(rec, 'pte-set', 'pte-zap')) {
            const addr = o.addr;
            if (o.what === 'pte-zap') {
              owner.delete(addr);
              continue;
            }
            const { oldPfn, pfn } = o;
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
      },
    );
  },
};
