/**
 * no-unpin-while-cached (flush before release): a page's last pin is dropped only after every TCE
 * that pointed at it has been cleared *and* invalidated in the TCE cache (iommu_tce_kill). Until
 * the kill, the PHB may still translate the old entry, so the device can DMA into a page the
 * kernel already gave back. Tracks, per bus entry, every page it pointed at since the last kill
 * covering it (the cache may hold any of them), from tce-set and kill observations.
 */
import type { Monitor } from '../../../core/model/monitor.ts';
import { stateful } from '../../../core/model/monitor.ts';
import { inOrder, verdict } from './util.ts';

interface St {
  /** bus entry → pfn → step the entry last pointed at it. */
  mayHold: Record<number, Record<number, number>>;
}

export const noUnpinWhileCached: Monitor = {
  name: 'no-unpin-while-cached',
  description: 'no page loses its last pin while a TCE cache entry may still translate to it (kill before unpin)',
  kind: 'safety',
  observes: ['obs:tce-set', 'obs:kill', 'obs:unpin'],
  create() {
    return stateful<St>(
      { mayHold: {} },
      {
        onStep(st, rec) {
          for (const o of inOrder(rec)) {
            if (o.what === 'tce-set') {
              const t = o as unknown as { entry: number; old: { pfn: number } | null; new: { pfn: number } | null };
              const m = (st.mayHold[t.entry] ??= {});
              if (t.old && m[t.old.pfn] === undefined) m[t.old.pfn] = rec.i;
              if (t.new) m[t.new.pfn] = rec.i;
            } else if (o.what === 'kill') {
              const k = o as unknown as { start: number; n: number };
              for (const e of Object.keys(st.mayHold).map(Number)) if (e >= k.start && e < k.start + k.n) delete st.mayHold[e];
            } else if (o.what === 'unpin') {
              const u = o as unknown as { pfn: number; pins: number; holder: string; value: string };
              if (u.pins > 0 || u.value !== 'page') continue;
              for (const [e, m] of Object.entries(st.mayHold)) {
                if (m[u.pfn] === undefined) continue;
                return verdict(
                  `pfn ${u.pfn} lost its last pin (${u.holder}, by ${o.actor}) while the TCE cache may still hold entry ${e} → pfn ${u.pfn} (set at step ${m[u.pfn]}, not invalidated since)`,
                  [o.actor],
                );
              }
            }
          }
          return null;
        },
      },
    );
  },
};
