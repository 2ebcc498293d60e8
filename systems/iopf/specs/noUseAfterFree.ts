/**
 * KASAN for the model: no use of a group or fault parameter after it was freed, and no double
 * free. Objects are named ("group:dev0#3", "fault_param:dev0"); machines report alloc, free
 * and every dereference.
 */
import type { Monitor, Verdict } from '../../../core/model/monitor.ts';

export const noUseAfterFree: Monitor = {
  name: 'no-use-after-free',
  description: 'no use of a group or fault parameter after it was freed, no double free',
  kind: 'safety',
  observes: ['obs:alloc', 'obs:free', 'obs:use'],
  create() {
    const freed = new Map<string, { step: number; by: string }>();
    return {
      onStep(rec): Verdict | null {
        for (const o of rec.obs) {
          const obj = o.obj as string;
          if (o.what === 'alloc') freed.delete(obj);
          if (o.what !== 'free' && o.what !== 'use') continue;
          const f = freed.get(obj);
          if (f) {
            const how = o.what === 'free' ? 'double free' : 'use after free';
            return {
              message: `${how}: ${o.actor} (${o.by}) touched ${obj}, freed at step ${f.step} by ${f.by}`,
              actors: [o.actor],
              messages: rec.delivered ? [rec.delivered.id] : [],
            };
          }
          if (o.what === 'free') freed.set(obj, { step: rec.i, by: String(o.by) });
        }
        return null;
      },
    };
  },
};
