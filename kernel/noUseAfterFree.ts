/**
 * KASAN for the model, written once for every system: no use of an object after it was freed,
 * and no double free. A system's paths report `alloc`, `free` and every dereference (`use`) of
 * the objects it names ("group:dev0#3", "fault_param:dev0", "table:T4"), in the shared heap
 * vocabulary (core/model/observations.ts HeapObservations); each system instantiates the monitor
 * with the objects it tracks, so its description says what it covers.
 */
import { type Monitor, type Verdict, stateful } from '../core/model/monitor.ts';
import type { HeapObservations } from '../core/model/observations.ts';
import { observing } from './mm/specs/observing.ts';

const heapObserved = observing<Pick<HeapObservations, 'alloc' | 'free' | 'use'>>();

/** The no-use-after-free monitor over `objects` (e.g. "a group or fault parameter"). */
export function useAfterFreeMonitor(objects: string): Monitor {
  return {
    name: 'no-use-after-free',
    description: `no use of ${objects} after it was freed, no double free`,
    kind: 'safety',
    observes: ['obs:alloc', 'obs:free', 'obs:use'],
    create() {
      return stateful(
        { freed: new Map<string, { step: number; by: string }>() },
        {
          onStep({ freed }, rec): Verdict | null {
            // In step order: a use before the free in the same step is no use after free.
            for (const o of heapObserved(rec, 'alloc', 'free', 'use')) {
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
              if (o.what === 'free') freed.set(o.obj, { step: rec.i, by: `${o.actor} (${o.by})` });
            }
            return null;
          },
        },
      );
    },
  };
}
