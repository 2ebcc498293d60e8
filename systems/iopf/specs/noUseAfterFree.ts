/**
 * KASAN for the model: no use of a group or fault parameter after it was freed, and no double
 * free. Objects are named ("group:dev0#3", "fault_param:dev0"); machines report alloc, free
 * and every dereference.
 */
import { type Monitor, type Verdict, stateful } from '../../../core/model/monitor.ts';
import { iopfObserved } from '../observations.ts';

export const noUseAfterFree: Monitor = {
  name: 'no-use-after-free',
  description: 'no use of a group or fault parameter after it was freed, no double free',
  kind: 'safety',
  observes: ['obs:alloc', 'obs:free', 'obs:use'],
  create() {
    return stateful(
      { freed: new Map<string, { step: number; by: string }>() },
      {
        onStep({ freed }, rec): Verdict | null {
          // In step order: a use before the free in the same step is no use after free.
          for (const o of iopfObserved(rec, 'alloc', 'free', 'use')) {
            if (o.what === 'alloc') {
              freed.delete(o.obj);
              continue;
            }
            const f = freed.get(o.obj);
            if (f) {
              const how = o.what === 'free' ? 'double free' : 'use after free';
              return {
                message: `${how}: ${o.actor} (${o.by}) touched ${o.obj}, freed at step ${f.step} by ${f.by}`,
                actors: [o.actor],
                messages: rec.delivered ? [rec.delivered.id] : [],
              };
            }
            if (o.what === 'free') freed.set(o.obj, { step: rec.i, by: String(o.by) });
          }
          return null;
        },
      },
    );
  },
};
