/**
 * dirty-clean-start: SET_DIRTY_TRACKING(1) clears every dirty bit of the areas mapped when it
 * starts, so a later GET reports a page of those areas only if something dirtied it since: a DMA
 * write to its leaf, or a leaf created dirty (a map, a split child, a BBML1 nT store of a dirty
 * block). Areas mapped after SET(1) took iova_rwsem are exempt (a map creates dirty leaves, F1).
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { is, pagesOf, verdict } from './util.ts';

interface St {
  armed: boolean;
  published: number[];
  /** Pages of areas published when SET(1) began. */
  clean: number[];
  /** Pages dirtied since SET(1) began, with the step and how. */
  since: Record<number, string>;
}

export const cleanStart: Monitor = {
  name: 'dirty-clean-start',
  description: 'after SET_DIRTY_TRACKING(1), a GET reports a page of an area mapped before it only if it was dirtied since',
  kind: 'safety',
  observes: ['obs:op-begin', 'obs:tracking', 'obs:area', 'obs:dma-write', 'obs:pte-write', 'obs:get-return'],
  create() {
    return stateful<St>({ armed: false, published: [], clean: [], since: {} }, {
      onStep(st, rec) {
        for (const o of rec.obs) {
          if (is(o, 'area')) {
            const ps = pagesOf(o.iova, o.pages);
            if (o.event === 'publish') st.published.push(...ps);
            if (o.event === 'pages-null' || o.event === 'remove') {
              st.published = st.published.filter((x) => !ps.includes(x));
              st.clean = st.clean.filter((x) => !ps.includes(x));
            }
          } else if (is(o, 'op-begin') && o.op === 'SET') {
            if (o.enable) {
              st.armed = true;
              st.clean = [...st.published];
              st.since = {};
            }
          } else if (is(o, 'tracking') && !o.on) {
            st.armed = false;
          } else if (is(o, 'dma-write')) {
            for (const p of pagesOf(o.span[0], o.span[1] - o.span[0])) st.since[p] ??= `dma-write of page ${o.page} at step ${rec.i}`;
          } else if (is(o, 'pte-write')) {
            if (o.dirty) for (const p of pagesOf(o.start, o.size)) st.since[p] ??= `${o.kind} by ${o.op} at step ${rec.i}`;
          } else if (is(o, 'get-return') && st.armed) {
            const bad = o.bits.filter((p) => st.clean.includes(p) && st.since[p] === undefined);
            if (bad.length) {
              return verdict(
                `${o.op} reports pages ${bad.join(',')} dirty, but their area was mapped before SET_DIRTY_TRACKING(1) cleared it and no DMA write, map or split has dirtied them since`,
                [o.actor],
              );
            }
          }
        }
        return null;
      },
    });
  },
};
