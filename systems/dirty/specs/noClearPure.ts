/**
 * dirty-no-clear-pure: GET_DIRTY_BITMAP with IOMMU_DIRTY_NO_CLEAR (609848132c71) changes nothing:
 * it writes no descriptor and issues no TLB invalidation, and two NO_CLEAR reads of one range with
 * no DMA write, map, unmap, split or clear between them return the same bitmap.
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { is, verdict } from './util.ts';

interface St {
  flying: Record<string, number>;
  lastChange: number;
  last: Record<string, { bits: number[]; begin: number; op: string }>;
}

export const noClearPure: Monitor = {
  name: 'dirty-no-clear-pure',
  description: 'a NO_CLEAR GET writes no descriptor and no TLBI; two NO_CLEAR GETs with nothing between them agree',
  kind: 'safety',
  observes: ['obs:op-begin', 'obs:get-return', 'obs:pte-write', 'obs:pte-clear', 'obs:tlbi', 'obs:dma-write', 'obs:hw-dirty', 'obs:install-table', 'obs:area'],
  create() {
    return stateful<St>({ flying: {}, lastChange: -1, last: {} }, {
      onStep(st, rec) {
        for (const o of rec.obs) {
          if (is(o, 'op-begin') && o.op === 'GET' && o.noClear) st.flying[o.id] = rec.i;
          if ((is(o, 'pte-write') || is(o, 'tlbi')) && st.flying[o.op] !== undefined) {
            const what = is(o, 'tlbi') ? `a TLBI (${o.kind})` : `a descriptor write ${o.kind} at ${o.table}[${o.idx}] (${o.before} -> ${o.after})`;
            return verdict(`${o.op} is a GET_DIRTY_BITMAP with IOMMU_DIRTY_NO_CLEAR but it made ${what}`, [o.actor]);
          }
          if (is(o, 'pte-write') || is(o, 'pte-clear') || is(o, 'dma-write') || is(o, 'hw-dirty') || is(o, 'install-table') || is(o, 'area')) st.lastChange = rec.i;
          if (is(o, 'get-return') && o.noClear && st.flying[o.op] !== undefined) {
            const begin = st.flying[o.op];
            delete st.flying[o.op];
            if (o.rc !== 0) continue;
            const key = `${o.iova}+${o.pages}`;
            const prev = st.last[key];
            if (prev && st.lastChange < prev.begin && prev.bits.join() !== o.bits.join()) {
              const onlyA = prev.bits.filter((b) => !o.bits.includes(b));
              const onlyB = o.bits.filter((b) => !prev.bits.includes(b));
              return verdict(`two NO_CLEAR reads of [${o.iova},${o.iova + o.pages}) with nothing changed between them differ: ${prev.op} set [${prev.bits.join(',')}], ${o.op} set [${o.bits.join(',')}] (only first: ${onlyA.join(',') || '-'}; only second: ${onlyB.join(',') || '-'})`, [o.actor]);
            }
            st.last[key] = { bits: o.bits, begin, op: o.op };
          }
        }
        return null;
      },
    });
  },
};
