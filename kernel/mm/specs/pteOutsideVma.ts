/**
 * Every present PTE lies inside a live VMA whose protection allows it: a PTE installed for an
 * address no VMA covers (or with write permission in a read-only VMA) lets the device reach
 * memory the process unmapped or protected. Checked when a PTE is set, and at the end for every
 * PTE left (one that survived its VMA).
 */
import type { Monitor, Verdict } from '../../../core/model/monitor.ts';
import { hex, protName, vmaName, type VmaView } from './mmFormat.ts';

export const pteOutsideVma: Monitor = {
  name: 'pte-outside-vma',
  description: 'no PTE is installed (or left) for an address outside every VMA, or with more permission than its VMA',
  kind: 'safety',
  observes: ['obs:vma-alloc', 'obs:vma-change', 'obs:vma-free', 'obs:pte-set', 'obs:pte-zap', 'obs:pte-protect'],
  create() {
    const live = new Map<number, VmaView>();
    const ptes = new Map<number, { pfn: number; prot: number; step: number; actor: string }>();
    const covering = (addr: number, prot: number) => {
      for (const v of live.values()) if (v.start <= addr && addr < v.end && (v.prot & prot) === prot) return true;
      return false;
    };
    const layout = () => [...live.entries()].sort((a, b) => a[1].start - b[1].start).map(([id, v]) => vmaName(id, v)).join(', ') || 'none';
    return {
      onStep(rec): Verdict | null {
        for (const o of rec.obs) {
          switch (o.what) {
            case 'vma-alloc':
            case 'vma-change':
              live.set(Number(o.vma), { start: Number(o.start), end: Number(o.end), prot: Number(o.prot) });
              break;
            case 'vma-free':
              live.delete(Number(o.vma));
              break;
            case 'pte-set': {
              const addr = Number(o.addr);
              const prot = Number(o.prot);
              if (Number(o.pfn) !== 0 && !covering(addr, prot)) {
                return {
                  message: `${o.actor} (${o.by}) installed a PTE for ${hex(addr)} (pfn ${o.pfn}, ${protName(prot)}) that no VMA allows; VMAs: ${layout()}`,
                  actors: [o.actor],
                  messages: [],
                };
              }
              ptes.set(addr, { pfn: Number(o.pfn), prot, step: rec.i, actor: o.actor });
              break;
            }
            case 'pte-zap':
              ptes.delete(Number(o.addr));
              break;
            case 'pte-protect': {
              const p = ptes.get(Number(o.addr));
              if (p) p.prot = Number(o.prot);
              break;
            }
          }
        }
        return null;
      },
      atQuiescence(): Verdict | null {
        for (const [addr, p] of ptes) {
          if (!covering(addr, p.prot)) {
            return {
              message: `the PTE for ${hex(addr)} (pfn ${p.pfn}, ${protName(p.prot)}, set at step ${p.step} by ${p.actor}) outlived its VMA; VMAs: ${layout()}`,
              actors: [p.actor],
              messages: [],
            };
          }
        }
        return null;
      },
    };
  },
};
