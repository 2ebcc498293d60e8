/**
 * dirty-no-lost-write: every DMA write the migration owes is reported by some GET_DIRTY_BITMAP.
 *
 * An obligation O(p, t) is made by a `dma-write` to page p at step t while tracking is on and p
 * is in a published area the VMM has not revoked (writes to memory the guest gave up are exempt;
 * writes during SET(1) are covered by the bulk copy). It is discharged by any GET that returns
 * after t with bit p set (whatever its rc: the bits are in the user's buffer).
 *  F1: a GET G returns rc = 0 with p in its range, bit p clear, and O(p, t) pending with t before
 *      G began. Judged once every other GET that was in flight over p has returned (one of them
 *      may have read and cleared p first).
 *  F2: an unmap clears the descriptor of p (its dirty bit is gone) while O(p, t) is pending.
 * SET(0) and a migration abort disarm it.
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { type Obs, is, pagesOf, rangeText, verdict } from './util.ts';

interface Pending {
  p: number;
  t: number;
  via: string;
  src: string;
  span: [number, number];
}

interface Flight {
  id: string;
  actor: string;
  iova: number;
  pages: number;
  start: number;
  noClear: boolean;
  /** Visits of this GET (for the message). */
  visits: { start: number; size: number; wasDirty: boolean; cleared: boolean; step: number; recorded: [number, number] | null }[];
}

interface Suspect {
  o: Pending;
  g: Flight;
  rc: number;
  waitFor: string[];
}

interface St {
  tracking: boolean;
  aborted: boolean;
  /** Pages of published areas. */
  live: number[];
  revoked: number[];
  pending: Pending[];
  flights: Record<string, Flight>;
  suspects: Suspect[];
  unmaps: string[];
}

function describe(s: Suspect): string {
  const g = s.g;
  const v = g.visits.find((x) => s.o.p >= x.start && s.o.p < x.start + x.size);
  const seen = v ? `its leaf [${v.start},${v.start + v.size}) visited at step ${v.step}: ${v.wasDirty ? 'dirty' : 'clean'}${v.cleared ? ', cleared' : ''}` : 'its leaf was never visited';
  return `dirty page lost: page ${s.o.p} written at step ${s.o.t} (via ${s.o.via}, descriptor ${s.o.src}, span [${s.o.span[0]},${s.o.span[1]})) is not set in ${g.id} ${rangeText(g.iova, g.pages)} flags ${g.noClear ? 'NO_CLEAR' : '0'} (rc ${s.rc}, began at step ${g.start}); ${seen}`;
}

export const noLostWrite: Monitor = {
  name: 'dirty-no-lost-write',
  description: 'every DMA write made while tracking is reported by a GET_DIRTY_BITMAP that covers it, before the migration ends or the page is unmapped',
  kind: 'safety',
  observes: ['obs:tracking', 'obs:migration-abort', 'obs:area', 'obs:revoke', 'obs:dma-write', 'obs:op-begin', 'obs:op-end', 'obs:dirty-visit', 'obs:get-return', 'obs:pte-clear'],
  create() {
    return stateful<St>({ tracking: false, aborted: false, live: [], revoked: [], pending: [], flights: {}, suspects: [], unmaps: [] }, {
      onStep(st, rec) {
        for (const o of rec.obs) {
          if (is(o, 'tracking')) {
            st.tracking = o.on;
            if (!o.on) st.pending = [];
          } else if (is(o, 'migration-abort')) {
            st.aborted = true;
            st.pending = [];
            st.suspects = [];
          } else if (is(o, 'area')) {
            const ps = pagesOf(o.iova, o.pages);
            if (o.event === 'publish') st.live.push(...ps);
            else if (o.event === 'pages-null' || o.event === 'remove') st.live = st.live.filter((x) => !ps.includes(x));
            if (o.event === 'insert') st.revoked = st.revoked.filter((x) => !ps.includes(x));
          } else if (is(o, 'revoke')) {
            st.revoked.push(...pagesOf(o.iova, o.pages));
          } else if (is(o, 'dma-write')) {
            if (st.tracking && !st.aborted && st.live.includes(o.page) && !st.revoked.includes(o.page)) st.pending.push({ p: o.page, t: rec.i, via: o.via, src: o.src, span: o.span });
          } else if (is(o, 'op-begin')) {
            if (o.op === 'GET') st.flights[o.id] = { id: o.id, actor: o.actor, iova: o.iova!, pages: o.pages!, start: rec.i, noClear: Boolean(o.noClear), visits: [] };
            if (o.op === 'UNMAP') st.unmaps.push(o.id);
          } else if (is(o, 'op-end')) {
            if (o.op === 'UNMAP') st.unmaps = st.unmaps.filter((x) => x !== o.id);
          } else if (is(o, 'dirty-visit')) {
            const f = st.flights[o.op];
            if (f && o.kind === 'leaf') f.visits.push({ start: o.start, size: o.size, wasDirty: o.wasDirty, cleared: o.cleared, step: rec.i, recorded: o.recorded && !o.dropped ? o.recorded : null });
          } else if (is(o, 'pte-clear')) {
            // F2: an unmap destroys descriptors with owed writes under them.
            if (!st.unmaps.includes(o.op)) continue;
            // Not lost when a GET still in flight has already put it in its bitmap.
            const inHand = (x: Pending) => Object.values(st.flights).some((f) => f.visits.some((v) => v.recorded && x.p >= v.recorded[0] && x.p < v.recorded[1] && v.step > x.t));
            const lost = st.pending.find((x) => x.p >= o.start && x.p < o.start + o.size && !inHand(x));
            if (lost) {
              return verdict(
                `dirty page dropped by unmap: ${o.op} clears ${o.kind} [${o.start},${o.start + o.size}) (${o.table}[${o.idx}], dirty pages under it: ${o.dirtyPages.join(',') || 'none'}) while page ${lost.p}, written at step ${lost.t} (via ${lost.via}) before the area was revoked, was reported by no GET_DIRTY_BITMAP`,
                [o.actor],
              );
            }
          } else if (is(o, 'get-return')) {
            const v = onReturn(st, o as Obs<'get-return'>, rec.i);
            if (v) return verdict(v, [o.actor]);
          }
        }
        return null;
      },
    });
  },
};

function onReturn(st: St, o: Obs<'get-return'>, step: number): string | null {
  const g = st.flights[o.op];
  delete st.flights[o.op];
  const bits = new Set(o.bits);
  // Discharge every obligation this return reports.
  st.pending = st.pending.filter((x) => !(bits.has(x.p) && x.t < step));
  for (const s of st.suspects) s.waitFor = s.waitFor.filter((id) => id !== o.op);
  if (g && o.rc === 0 && !st.aborted) {
    for (const x of st.pending) {
      if (x.p < o.iova || x.p >= o.iova + o.pages || bits.has(x.p) || x.t >= g.start) continue;
      if (st.suspects.some((s) => s.o === x)) continue;
      const waitFor = Object.values(st.flights)
        .filter((f) => x.p >= f.iova && x.p < f.iova + f.pages)
        .map((f) => f.id);
      st.suspects.push({ o: x, g, rc: o.rc, waitFor });
    }
  }
  // A suspect whose write is still owed once every concurrent GET over it has returned is a loss.
  for (const s of st.suspects) {
    if (s.waitFor.length) continue;
    if (st.pending.some((x) => x.p === s.o.p && x.t === s.o.t)) return describe(s);
  }
  st.suspects = st.suspects.filter((s) => s.waitFor.length && st.pending.some((x) => x.p === s.o.p && x.t === s.o.t));
  return null;
}
