/**
 * dirty-bounded-over-report: a GET reports only what a leaf's dirty state justifies. Every record
 * lies inside the descriptor it was read from, and that leaf had a cause to be dirty since it was
 * last cleared: a DMA write to it, its creation by a map (F1), or a split that created it dirty
 * (inheriting the block's state, or a BBML1 store of a dirty block). Every bit the GET returns lies
 * in one of its records. Over-report is bounded by the leaf (block) size, no more.
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { is, pagesOf, verdict } from './util.ts';

interface St {
  /** Pages with a cause, and what it was. */
  cause: Record<number, string>;
  records: Record<string, [number, number][]>;
}

export const boundedOverReport: Monitor = {
  name: 'dirty-bounded-over-report',
  description: 'every reported bit lies in a record of a leaf that had a cause to be dirty; no record is wider than its leaf',
  kind: 'safety',
  observes: ['obs:dma-write', 'obs:pte-write', 'obs:pte-clear', 'obs:op-begin', 'obs:dirty-visit', 'obs:get-return'],
  create() {
    return stateful<St>({ cause: {}, records: {} }, {
      onStep(st, rec) {
        for (const o of rec.obs) {
          if (is(o, 'dma-write')) {
            for (const p of pagesOf(o.span[0], o.span[1] - o.span[0])) st.cause[p] = `dma-write of page ${o.page} at step ${rec.i}`;
          } else if (is(o, 'pte-write')) {
            if (o.kind === 'clear') for (const p of pagesOf(o.start, o.size)) delete st.cause[p];
            else if (o.dirty) for (const p of pagesOf(o.start, o.size)) st.cause[p] = `${o.kind} by ${o.op} at step ${rec.i}`;
          } else if (is(o, 'pte-clear')) {
            for (const p of pagesOf(o.start, o.size)) delete st.cause[p];
          } else if (is(o, 'op-begin') && o.op === 'GET') {
            st.records[o.id] = [];
          } else if (is(o, 'dirty-visit') && o.recorded) {
            const [a, b] = o.recorded;
            if (st.records[o.op]) st.records[o.op].push([a, b]);
            if (a < o.start || b > o.start + o.size) {
              return verdict(`${o.op} records [${a},${b}) from ${o.kind} ${o.pte} at ${o.table}[${o.idx}], which maps only [${o.start},${o.start + o.size}) (walk addr ${o.addr})`, [o.actor]);
            }
            const why = pagesOf(o.start, o.size).find((p) => st.cause[p] !== undefined);
            if (why === undefined) {
              return verdict(`${o.op} records [${a},${b}) from ${o.kind} ${o.pte} at ${o.table}[${o.idx}] [${o.start},${o.start + o.size}), but nothing dirtied that range since it was last cleared (no DMA write, map or split)`, [o.actor]);
            }
          } else if (is(o, 'get-return')) {
            const recs = st.records[o.op] ?? [];
            delete st.records[o.op];
            const stray = o.bits.filter((p) => !recs.some(([a, b]) => p >= a && p < b));
            if (stray.length) return verdict(`${o.op} returns bits for pages ${stray.join(',')} that none of its records [${recs.map(([a, b]) => `${a},${b}`).join(' ')}] covers`, [o.actor]);
          }
        }
        return null;
      },
    });
  },
};
