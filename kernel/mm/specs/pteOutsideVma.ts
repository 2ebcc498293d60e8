/**
 * Every present PTE lies inside a live VMA whose protection allows it: a PTE installed for an
 * address no VMA covers (or with write permission in a read-only VMA) lets the device reach
 * memory the process unmapped or protected. Checked when a PTE is set, and at the end for every
 * PTE left (one that survived its VMA).
 */
import { type Monitor, type Verdict, stateful } from '../../../core/model/monitor.ts';
import type { MmObservations } from '../memory.ts';
import { hex, protName, vmaName, type VmaView } from './mmFormat.ts';
import { observing } from './observing.ts';

const mmObserved = observing<MmObservations>();

function covering(live: Map<number, VmaView>, addr: number, prot: number): boolean {
  for (const v of live.values()) if (v.start <= addr && addr < v.end && (v.prot & prot) === prot) return true;
  return false;
}

function layout(live: Map<number, VmaView>): string {
  return [...live.entries()].sort((a, b) => a[1].start - b[1].start).map(([id, v]) => vmaName(id, v)).join(', ') || 'none';
}

export const pteOutsideVma: Monitor = {
  name: 'pte-outside-vma',
  description: 'no PTE is installed (or left) for an address outside every VMA, or with more permission than its VMA',
  kind: 'safety',
  observes: ['obs:vma-alloc', 'obs:vma-change', 'obs:vma-free', 'obs:pte-set', 'obs:pte-zap', 'obs:pte-protect'],
  create() {
    const init = {
      live: new Map<number, VmaView>(),
      ptes: new Map<number, { pfn: number; prot: number; step: number; actor: string }>(),
    };
    return stateful(init, {
      onStep({ live, ptes }, rec): Verdict | null {
        for (const o of mmObserved(rec, 'vma-alloc', 'vma-change', 'vma-free', 'pte-set', 'pte-zap', 'pte-protect')) {
          switch (o.what) {
            case 'vma-alloc':
            case 'vma-change':
              live.set(o.vma, { start: o.start, end: o.end, prot: o.prot });
              break;
            case 'vma-free':
              live.delete(o.vma);
              break;
            case 'pte-set': {
              const { addr, prot } = o;
              if (o.pfn !== 0 && !covering(live, addr, prot)) {
                return {
                  message: `${o.actor} (${o.by}) installed a PTE for ${hex(addr)} (pfn ${o.pfn}, ${protName(prot)}) that no VMA allows; VMAs: ${layout(live)}`,
                  actors: [o.actor],
                  messages: [],
                };
              }
              ptes.set(addr, { pfn: o.pfn, prot, step: rec.i, actor: o.actor });
              break;
            }
            case 'pte-zap':
              ptes.delete(o.addr);
              break;
            case 'pte-protect': {
              const p = ptes.get(o.addr);
              if (p) p.prot = o.prot;
              break;
            }
          }
        }
        return null;
      },
      atQuiescence({ live, ptes }): Verdict | null {
        for (const [addr, p] of ptes) {
          if (!covering(live, addr, p.prot)) {
            return {
              message: `the PTE for ${hex(addr)} (pfn ${p.pfn}, ${protName(p.prot)}, set at step ${p.step} by ${p.actor}) outlived its VMA; VMAs: ${layout(live)}`,
              actors: [p.actor],
              messages: [],
            };
          }
        }
        return null;
      },
    });
  },
};
