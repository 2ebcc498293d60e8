/**
 * region-mapped-count (v2): a preregistered region's atomic `mapped` is 1 + the number of live
 * TCEs into it (mm_iommu_mapped_inc before each xchg, mm_iommu_mapped_dec after each release),
 * so mm_iommu_put's cmpxchg(mapped, 1, 0) can only succeed when nothing maps it. At every step
 * mapped − 1 ≥ live TCEs (an inc may run ahead of its xchg, a dec may lag behind the kill); the
 * region is never released (mapped 0) or freed (RCU callback) while a TCE maps it; when every
 * thread is done, mapped − 1 == live TCEs.
 */
import type { Monitor } from '../../../core/model/monitor.ts';
import { stateful } from '../../../core/model/monitor.ts';
import { allDone, entryKey, inOrder, verdict } from './util.ts';

interface St {
  mapped: Record<string, number>;
  /** table#index → region of a live v2 TCE. */
  tces: Record<string, string>;
  released: string[];
}

export const regionMappedCount: Monitor = {
  name: 'region-mapped-count',
  description: "v2: a region's mapped count is 1 + its live TCEs (at least, during a path; exactly, when idle); never released or freed while mapped",
  kind: 'safety',
  observes: ['obs:tce-set', 'obs:mapped', 'obs:free'],
  create() {
    const live = (st: St, r: string) => Object.entries(st.tces).filter(([, x]) => x === r);
    const list = (st: St, r: string) =>
      live(st, r)
        .map(([k]) => k)
        .join(', ');
    return stateful<St>(
      { mapped: {}, tces: {}, released: [] },
      {
        onStep(st, rec) {
          const touched = new Set<string>();
          for (const o of inOrder(rec)) {
            if (o.what === 'mapped') {
              const m = o as unknown as { region: string; mapped: number; op: string };
              st.mapped[m.region] = m.mapped;
              if (m.op === 'release') st.released.push(m.region);
              touched.add(m.region);
            } else if (o.what === 'tce-set') {
              const t = o as unknown as { table: string; index: number; new: { region?: string; src: string } | null };
              const k = entryKey(t.table, t.index);
              delete st.tces[k];
              if (t.new?.src === 'v2' && t.new.region) {
                st.tces[k] = t.new.region;
                touched.add(t.new.region);
              }
            } else if (o.what === 'free') {
              const obj = String((o as unknown as { obj: string }).obj);
              if (!obj.startsWith('region:')) continue;
              const r = obj.slice('region:'.length);
              const n = live(st, r).length;
              if (n > 0) return verdict(`region ${r} freed by the RCU callback while ${n} TCE(s) still map it (${list(st, r)})`, [o.actor]);
            }
          }
          for (const r of touched) {
            const m = st.mapped[r];
            if (m === undefined) continue;
            const n = live(st, r).length;
            if (m === 0 && n > 0) return verdict(`region ${r} was released (mapped 1 → 0) with ${n} live TCE(s) into it (${list(st, r)})`, [rec.actor]);
            if (m > 0 && m - 1 < n) return verdict(`region ${r}: mapped=${m} counts ${m - 1} TCE(s) but ${n} are live (${list(st, r)})`, [rec.actor]);
          }
          return null;
        },
        atQuiescence(st, q) {
          if (!allDone(q)) return null;
          for (const r of Object.keys(st.mapped).sort()) {
            const m = st.mapped[r];
            const n = live(st, r).length;
            if (m > 0 && m - 1 !== n) return verdict(`at quiescence region ${r} has mapped=${m} but ${n} live TCE(s)${n ? ` (${list(st, r)})` : ''}: ${m - 1 > n ? 'a mapped count leaked (UNREGISTER will fail -EBUSY forever)' : 'a TCE not counted'}`);
          }
          return null;
        },
      },
    );
  },
};
