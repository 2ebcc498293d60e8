/**
 * bitmap-lifetime: a dma has a dirty bitmap exactly while tracking (START allocates every one,
 * MAP while tracking allocates the new one, STOP and removal free them); no use of a bitmap that
 * is not there (bitmap_set on NULL), no double allocation, none left on a removed dma.
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import type { VfioObs } from '../types.ts';

export const bitmapLifetime: Monitor = {
  name: 'bitmap-lifetime',
  description: 'a dma has a bitmap of its size exactly while tracking; no use of an absent bitmap, none outlives its dma',
  kind: 'safety',
  observes: ['obs:bitmap-alloc', 'obs:bitmap-free', 'obs:bitmap-use', 'obs:dma-removed', 'obs:iommu-unlock'],
  create() {
    return stateful({ alive: {} as Record<string, string> }, {
      onStep(st, rec) {
        for (const o of rec.obs) {
          const fail = (message: string) => ({ message, actors: [o.actor], messages: [] });
          switch (o.what) {
            case 'bitmap-alloc':
              if (st.alive[String(o.inst)]) return fail(`${o.by} allocates a second bitmap for ${o.inst} (the one from ${st.alive[String(o.inst)]} leaks)`);
              st.alive[String(o.inst)] = String(o.by);
              break;
            case 'bitmap-free':
              if (!st.alive[String(o.inst)]) return fail(`${o.by} frees the bitmap of ${o.inst}, which has none`);
              delete st.alive[String(o.inst)];
              break;
            case 'bitmap-use':
              if (!o.present) return fail(`${o.by} uses the dirty bitmap of ${o.inst}, which has none (NULL dereference)`);
              break;
            case 'dma-removed':
              if (st.alive[String(o.inst)]) return fail(`dma ${o.inst} removed by ${o.by} still holds its bitmap`);
              break;
            case 'iommu-unlock': {
              const u = o as unknown as VfioObs['iommu-unlock'];
              for (const d of u.dmas) {
                if (u.tracking && (d.bitmap === null || d.bitmap.length !== d.pages)) return fail(`tracking, but ${d.inst} has ${d.bitmap === null ? 'no bitmap' : `a bitmap of ${d.bitmap.length} bits for ${d.pages} pages`} when ${u.op} releases iommu->lock`);
                if (!u.tracking && d.bitmap !== null) return fail(`not tracking, but ${d.inst} still has a bitmap when ${u.op} releases iommu->lock`);
              }
              break;
            }
          }
        }
        return null;
      },
    });
  },
};
