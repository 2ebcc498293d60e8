/**
 * pin-balance: the pin counts agree with who holds them, at every release of iommu->lock:
 *   - each vpfn's ref_count equals the pins the drivers hold on that page (vfio_pin_pages calls
 *     not yet matched by vfio_unpin_pages), and every page a driver holds has a vpfn;
 *   - each page's long-term GUP pins are 1 for the IOMMU mapping (iommu_mapped) plus 1 for its
 *     vpfn, and no pin is left on a page whose dma is gone;
 *   - locked_vm is the dma's pages while mapped, else its vpfns (vfio_lock_acct's accounting).
 * No BUG_ON(++retries > 10) in the unmap loop. At the end of a run with teardown, nothing is
 * pinned, accounted or held.
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import type { VfioObs } from '../types.ts';
import type { PinState } from '../state/pins.ts';
import type { Type1State } from '../state/type1.ts';
import { PINS, TYPE1 } from '../types.ts';
import { VM } from '../state/pins.ts';

export function pinBalanceAt(u: VfioObs['iommu-unlock']): string | null {
  let locked = 0;
  for (const d of u.dmas) {
    const vp = Object.keys(d.pfn).length;
    locked += d.mapped ? d.pages : vp;
    for (let i = 0; i < d.pages; i++) {
      const page = `${d.inst}:${i}`;
      const ref = d.pfn[String(i)] ?? 0;
      const byDrivers = Object.entries(u.driver).reduce((s, [, t]) => s + (t[page] ?? 0), 0);
      if (ref !== byDrivers) {
        const who = Object.entries(u.driver).filter(([, t]) => t[page]).map(([dev, t]) => `${dev}:${t[page]}`).join(', ') || 'none';
        return `vpfn ${page} has ref_count ${ref} but the drivers hold ${byDrivers} pin(s) of it (${who})`;
      }
      const want = (d.mapped ? 1 : 0) + (ref ? 1 : 0);
      const got = u.gup[page] ?? 0;
      if (got !== want) return `page ${page} has ${got} long-term GUP pin(s), expected ${want} (iommu_mapped=${d.mapped}, vpfn ref_count=${ref})`;
    }
  }
  for (const page of Object.keys(u.gup)) if (page.startsWith('pfn')) return `GUP pin ${page} left on a page whose dma is gone`;
  for (const [dev, t] of Object.entries(u.driver)) {
    for (const page of Object.keys(t)) {
      const [inst, idx] = page.split(':');
      const d = u.dmas.find((x) => x.inst === inst);
      if (d && !d.pfn[idx]) return `${dev} holds a pin of ${page}, which has no vpfn`;
    }
  }
  if (u.lockedVm !== locked) return `locked_vm is ${u.lockedVm} when ${u.op} releases iommu->lock, expected ${locked} (mapped dmas' pages + unmapped dmas' vpfns)`;
  return null;
}

export const pinBalance: Monitor = {
  name: 'pin-balance',
  description: 'vpfn refcounts, GUP pins and locked_vm match who holds them; nothing left after teardown',
  kind: 'safety',
  observes: ['obs:iommu-unlock', 'obs:bug-on'],
  create(params) {
    return stateful({}, {
      onStep(_st, rec) {
        for (const o of rec.obs) {
          if (o.what === 'bug-on') return { message: `BUG_ON(++retries > 10) in vfio_dma_do_unmap: ${o.dma} still has pinned pages after ${o.retries} dma_unmap rounds`, actors: [o.actor], messages: [] };
          if (o.what !== 'iommu-unlock') continue;
          const m = pinBalanceAt(o as unknown as VfioObs['iommu-unlock']);
          if (m) return { message: m, actors: [o.actor], messages: [] };
        }
        return null;
      },
      atQuiescence(_st, q) {
        if (!params.teardown) return null;
        const done = Object.values(q.actors).every((a) => a.value === 'done');
        if (!done) return null;
        const pins = q.shared?.(PINS) as PinState | undefined;
        const t = q.shared?.(TYPE1) as Type1State | undefined;
        if (!pins || !t) return null;
        const left = pins.table.outstanding();
        if (left.length) return { message: `after teardown, pages are still pinned: ${left.join(', ')}`, actors: [], messages: [] };
        if (pins.table.lockedVm(VM) !== 0) return { message: `after teardown, locked_vm is ${pins.table.lockedVm(VM)}`, actors: [], messages: [] };
        const held = Object.entries(pins.s.driver).filter(([, x]) => Object.keys(x).length);
        if (held.length) return { message: `after teardown, drivers still hold pins: ${JSON.stringify(Object.fromEntries(held))}`, actors: [], messages: [] };
        if (Object.keys(t.s.dmas).length) return { message: `after teardown, dmas remain: ${Object.keys(t.s.dmas).join(', ')}`, actors: [], messages: [] };
        return null;
      },
    });
  },
};
