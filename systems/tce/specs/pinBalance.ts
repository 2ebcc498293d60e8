/**
 * pin-balance (v1 containers and the 2012 seed): every valid TCE a v1 container put in a table
 * holds one pin of its page (tce_iommu_use_page → pin_user_pages_fast, released by
 * tce_iommu_unuse_page). At every step a page has at least as many container pins as valid
 * TCEs point at it (pins may run ahead while a MAP pins before the xchg, or an UNMAP defers the
 * unpin past the kill); when every thread is done, exactly as many.
 */
import type { Monitor } from '../../../core/model/monitor.ts';
import { stateful } from '../../../core/model/monitor.ts';
import { allDone, entryKey, inOrder, verdict } from './util.ts';

interface St {
  pins: Record<number, number>;
  /** table#index → pfn of a valid container TCE. */
  tces: Record<string, number>;
}

const HOLDER = 'vfio';

export const pinBalance: Monitor = {
  name: 'pin-balance',
  description: 'v1: a page holds at least one container pin per valid TCE to it (exactly, when idle); no unpin without a pin',
  kind: 'safety',
  observes: ['obs:tce-set', 'obs:pin', 'obs:unpin'],
  create() {
    const count = (st: St, pfn: number) => Object.values(st.tces).filter((p) => p === pfn).length;
    const where = (st: St, pfn: number) =>
      Object.entries(st.tces)
        .filter(([, p]) => p === pfn)
        .map(([k]) => k)
        .join(', ');
    return stateful<St>(
      { pins: {}, tces: {} },
      {
        onStep(st, rec) {
          const touched = new Set<number>();
          for (const o of inOrder(rec)) {
            if (o.what === 'pin' || o.what === 'unpin') {
              const p = o as unknown as { pfn: number; holder: string; missing?: boolean };
              if (p.holder !== HOLDER) continue;
              if (o.what === 'unpin' && p.missing) return verdict(`${o.actor} unpinned pfn ${p.pfn} for the container, which holds no pin of it`, [o.actor]);
              st.pins[p.pfn] = (st.pins[p.pfn] ?? 0) + (o.what === 'pin' ? 1 : -1);
              touched.add(p.pfn);
            } else if (o.what === 'tce-set') {
              const t = o as unknown as { table: string; index: number; old: { pfn: number; src: string } | null; new: { pfn: number; src: string } | null };
              const k = entryKey(t.table, t.index);
              delete st.tces[k];
              if (t.new && (t.new.src === 'v1' || t.new.src === 'seed')) {
                st.tces[k] = t.new.pfn;
                touched.add(t.new.pfn);
              }
            }
          }
          for (const pfn of touched) {
            const n = count(st, pfn);
            const pins = st.pins[pfn] ?? 0;
            if (pins < n) return verdict(`pfn ${pfn} has ${n} valid TCE(s) (${where(st, pfn)}) but the container holds ${pins} pin(s) of it`, [rec.actor]);
          }
          return null;
        },
        atQuiescence(st, q) {
          if (!allDone(q)) return null;
          const pfns = new Set([...Object.keys(st.pins).map(Number), ...Object.values(st.tces)]);
          for (const pfn of [...pfns].sort((a, b) => a - b)) {
            const n = count(st, pfn);
            const pins = st.pins[pfn] ?? 0;
            if (pins !== n) return verdict(`at quiescence pfn ${pfn} is pinned ${pins} time(s) by the container but ${n} valid TCE(s) point at it${n ? ` (${where(st, pfn)})` : ''}: ${pins > n ? 'a pin leaked' : 'a TCE to an unpinned page'}`);
          }
          return null;
        },
      },
    );
  },
};
