/**
 * no-use-after-free for the page tables (KASAN for the model): no use of a table (`table:Tn`)
 * after it was freed, no double free. The paths report `alloc`, `free` and every `use` (a map or
 * unmap step reading or writing a table, a split walking or installing into one). The same
 * monitor name and rule as the IOPF heap monitor (systems/iopf/specs/noUseAfterFree.ts), written
 * here because a system imports no other system (test/core/layering.test.ts).
 */
import { type Monitor, type Verdict, stateful } from '../../../core/model/monitor.ts';
import { is } from './util.ts';

export const noUseAfterFree: Monitor = {
  name: 'no-use-after-free',
  description: 'no use of a page table after it was freed, no double free',
  kind: 'safety',
  observes: ['obs:alloc', 'obs:free', 'obs:use'],
  create() {
    return stateful(
      { freed: new Map<string, { step: number; by: string }>() },
      {
        onStep({ freed }, rec): Verdict | null {
          // In step order: a use before the free in the same step is no use after free.
          for (const o of rec.obs) {
            if (is(o, 'alloc')) {
              freed.delete(o.obj);
              continue;
            }
            if (!is(o, 'free') && !is(o, 'use')) continue;
            const f = freed.get(o.obj);
            if (f) {
              const how = o.what === 'free' ? 'double free' : 'use after free';
              return { message: `${how}: ${o.actor} (${o.by}) touched ${o.obj}, freed at step ${f.step} by ${f.by}`, actors: [o.actor], messages: [] };
            }
            if (o.what === 'free') freed.set(o.obj, { step: rec.i, by: String(o.by) });
          }
          return null;
        },
      },
    );
  },
};
