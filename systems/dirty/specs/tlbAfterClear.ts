/**
 * dirty-tlb-after-clear: when a clearing GET_DIRTY_BITMAP or SET_DIRTY_TRACKING(1) returns, no TLB
 * entry still caches as dirty a descriptor it made writable-clean: a write through such an entry
 * updates no descriptor (tlbCachesDirty), so the next read would miss it. Equivalently, the IOTLB
 * sync after the clear must really invalidate the cleared range (on SMMUv3 today it is a no-op:
 * the gather's pgsize is never set, F14/F15). The monitor mirrors the TLB from fills, HTTU
 * updates and invalidations. Off with tlbCachesDirty=false (the hardware then re-checks).
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { is, verdict } from './util.ts';

interface St {
  on: boolean;
  /** TLB entries by base: source slot and cached dirty state. */
  tlb: Record<number, { src: string; size: number; dirty: boolean; step: number }>;
  /** Per clearing op: slot -> step it cleared it; the op's last sync. */
  ops: Record<string, { cleared: Record<string, number>; sync: string }>;
}

export const tlbAfterClear: Monitor = {
  name: 'dirty-tlb-after-clear',
  description: 'no TLB entry caches as dirty a descriptor a GET or SET(1) cleared when that ioctl returns',
  kind: 'safety',
  observes: ['obs:op-begin', 'obs:op-end', 'obs:pte-write', 'obs:pte-clear', 'obs:hw-dirty', 'obs:tlb-fill', 'obs:tlb-dirty', 'obs:tlbi'],
  create(params) {
    return stateful<St>({ on: params.tlbCachesDirty !== false, tlb: {}, ops: {} }, {
      onStep(st, rec) {
        if (!st.on) return null;
        for (const o of rec.obs) {
          if (is(o, 'op-begin') && ((o.op === 'GET' && !o.noClear) || (o.op === 'SET' && o.enable))) st.ops[o.id] = { cleared: {}, sync: 'no sync' };
          else if (is(o, 'tlb-fill')) st.tlb[o.base] = { src: o.src, size: o.size, dirty: o.dirty, step: rec.i };
          else if (is(o, 'tlb-dirty') && st.tlb[o.base]) st.tlb[o.base].dirty = true;
          else if (is(o, 'tlbi')) {
            for (const b of o.removed) delete st.tlb[b];
            if (st.ops[o.op]) st.ops[o.op].sync = o.kind === 'noop' ? `sync of [${o.start},${o.end}) was a no-op (${o.reason})` : `TLBI ${o.kind} [${o.start ?? ''},${o.end ?? ''}) at step ${rec.i}`;
          } else if (is(o, 'pte-write') || is(o, 'pte-clear') || is(o, 'hw-dirty')) {
            const slot = `${o.table}[${o.idx}]`;
            const clearing = is(o, 'pte-write') && o.kind === 'clear' ? st.ops[o.op] : undefined;
            // Any other change of the descriptor (re-dirtied by HTTU, unmapped, split) ends the claim.
            for (const op of Object.values(st.ops)) delete op.cleared[slot];
            if (clearing) clearing.cleared[slot] = rec.i;
          } else if (is(o, 'op-end') && st.ops[o.id]) {
            const op = st.ops[o.id];
            delete st.ops[o.id];
            for (const [base, e] of Object.entries(st.tlb)) {
              if (!e.dirty || op.cleared[e.src] === undefined) continue;
              return verdict(
                `${o.id} returns while the TLB entry [${base},${Number(base) + e.size}) (filled at step ${e.step}) still caches ${e.src} as writable-dirty; ${o.id} made ${e.src} writable-clean at step ${op.cleared[e.src]}, and its ${op.sync}: a DMA write through the entry will not set the dirty bit again`,
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
