/**
 * KASAN for VMAs: the fault path must not dereference a vm_area_struct after munmap/mmap freed
 * it, nor use a VMA for an address it no longer covers (split or trimmed under it). Both happen
 * only when the VMA was looked up without mmap_lock (or the lock was dropped) and the tree
 * changed in between.
 */
import { type Monitor, type Verdict, stateful } from '../../../core/model/monitor.ts';
import type { MmObservations } from '../memory.ts';
import { hex, vmaName, type VmaView } from './mmFormat.ts';
import { observing } from './observing.ts';

const mmObserved = observing<MmObservations>();

export const vmaUseAfterFree: Monitor = {
  name: 'vma-use-after-free',
  description: 'the fault path never uses a VMA after it was freed, nor for an address it no longer covers',
  kind: 'safety',
  observes: ['obs:vma-alloc', 'obs:vma-change', 'obs:vma-free', 'obs:vma-use'],
  create() {
    const init = {
      live: new Map<number, VmaView>(),
      freed: new Map<number, { step: number; actor: string; op: string; vma: VmaView }>(),
    };
    return stateful(init, {
      onStep({ live, freed }, rec): Verdict | null {
        for (const o of mmObserved(rec, 'vma-alloc', 'vma-change', 'vma-free', 'vma-use')) {
          const id = o.vma;
          switch (o.what) {
            case 'vma-alloc':
            case 'vma-change':
              live.set(id, { start: o.start, end: o.end, prot: o.prot });
              break;
            case 'vma-free': {
              const v = live.get(id) ?? { start: o.start, end: o.end, prot: 0 };
              live.delete(id);
              freed.set(id, { step: rec.i, actor: o.actor, op: o.op, vma: v });
              break;
            }
            case 'vma-use': {
              const addr = o.addr;
              const f = freed.get(id);
              if (f) {
                return {
                  message: `use after free: ${o.actor} (${o.by}) dereferenced ${vmaName(id, f.vma)} for ${hex(addr)}, freed at step ${f.step} by ${f.actor} (${f.op})`,
                  actors: [o.actor, f.actor],
                  messages: [],
                };
              }
              const v = live.get(id);
              if (v && (addr < v.start || addr >= v.end)) {
                return {
                  message: `stale VMA: ${o.actor} (${o.by}) used ${vmaName(id, v)} for ${hex(addr)}, which it no longer covers`,
                  actors: [o.actor],
                  messages: [],
                };
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
