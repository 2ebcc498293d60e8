/**
 * no-use-after-free (KASAN for the model): no use or free of an area, iopt_pages, domain or object
 * after it was freed. Objects are named (A3, P0, N, access0); paths report alloc, free and every
 * dereference that matters.
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';

export const noUseAfterFree: Monitor = {
  name: 'no-use-after-free',
  description: 'no use or free of an area, iopt_pages, domain or object after it was freed',
  kind: 'safety',
  observes: ['obs:alloc', 'obs:free', 'obs:use'],
  create() {
    return stateful<{ freed: Record<string, { step: number; by: string }> }>({ freed: {} }, {
      onStep(s, rec) {
        for (const o of rec.obs) {
          if (o.what !== 'alloc' && o.what !== 'free' && o.what !== 'use') continue;
          const obj = String(o.obj);
          if (o.what === 'alloc') {
            delete s.freed[obj];
            continue;
          }
          const f = s.freed[obj];
          if (f) return { message: `${o.what === 'free' ? 'double free' : 'use after free'}: ${o.actor} (${o.by}) touched ${obj}, freed at step ${f.step} by ${f.by}`, actors: [o.actor], messages: [] };
          if (o.what === 'free') s.freed[obj] = { step: rec.i, by: `${o.actor}: ${o.by}` };
        }
        return null;
      },
    });
  },
};
