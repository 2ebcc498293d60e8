/**
 * dirty-clear-idempotent: GET(0) then GET(0) with nothing dirtying in between (no DMA write, no
 * map, no split): the second reports nothing the first read and cleared. Checked for the pages of
 * leaves the first GET visited wholly inside its range (a leaf it only partly covers is not
 * cleared, by the fixed model's rule).
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { is, pagesOf, verdict } from './util.ts';

interface Done {
  op: string;
  begin: number;
  end: number;
  settled: number[];
}

interface St {
  flying: Record<string, { begin: number; iova: number; pages: number; settled: number[] }>;
  lastDirtying: number;
  done: Done[];
}

export const clearIdempotent: Monitor = {
  name: 'dirty-clear-idempotent',
  description: 'a second clearing GET with nothing dirtying since the first began reports nothing the first cleared',
  kind: 'safety',
  observes: ['obs:op-begin', 'obs:dirty-visit', 'obs:get-return', 'obs:dma-write', 'obs:hw-dirty', 'obs:pte-write', 'obs:install-table', 'obs:split-step'],
  create() {
    return stateful<St>({ flying: {}, lastDirtying: -1, done: [] }, {
      onStep(st, rec) {
        for (const o of rec.obs) {
          if (is(o, 'dma-write') || is(o, 'hw-dirty') || is(o, 'install-table') || is(o, 'split-step') || (is(o, 'pte-write') && o.kind !== 'clear')) {
            st.lastDirtying = rec.i;
            st.done = [];
          } else if (is(o, 'op-begin') && o.op === 'GET' && !o.noClear) {
            st.flying[o.id] = { begin: rec.i, iova: o.iova!, pages: o.pages!, settled: [] };
          } else if (is(o, 'dirty-visit')) {
            const f = st.flying[o.op];
            if (f && o.kind === 'leaf' && o.start >= f.iova && o.start + o.size <= f.iova + f.pages && !o.dropped) f.settled.push(...pagesOf(o.start, o.size));
          } else if (is(o, 'get-return') && !o.noClear) {
            const f = st.flying[o.op];
            delete st.flying[o.op];
            if (!f || o.rc !== 0) continue;
            for (const d of st.done) {
              if (d.begin <= st.lastDirtying || d.end >= f.begin) continue;
              const again = o.bits.filter((p) => d.settled.includes(p));
              if (again.length) {
                return verdict(`${o.op} (began at step ${f.begin}) reports pages ${again.join(',')} that ${d.op} (steps ${d.begin}-${d.end}) already read and cleared, with no DMA write, map or split since`, [o.actor]);
              }
            }
            st.done.push({ op: o.op, begin: f.begin, end: rec.i, settled: f.settled });
          }
        }
        return null;
      },
    });
  },
};
