/**
 * locked-vm-balance: mm->locked_vm (account_locked_vm) is never below where it started, and when
 * every thread is done it equals the start plus what is still locked: the container's tables
 * it references (tce_iommu_create_table accounts them, tce_iommu_free_table unaccounts), the v1 window
 * (tce_iommu_enable / disable) and every listed, non-device region (mm_iommu_do_alloc /
 * mm_iommu_put).
 */
import type { Monitor } from '../../../core/model/monitor.ts';
import { stateful } from '../../../core/model/monitor.ts';
import type { ContainerState } from '../state/container.ts';
import type { MemState } from '../state/mem.ts';
import type { PreregState } from '../state/prereg.ts';
import type { TablesState } from '../state/tables.ts';
import { allDone, obsOf, verdict } from './util.ts';

export const lockedVmBalance: Monitor = {
  name: 'locked-vm-balance',
  description: 'locked_vm never below its start; when idle it equals the tables, the v1 window and the registered regions still locked',
  kind: 'safety',
  observes: ['obs:account'],
  create() {
    return stateful<Record<string, never>>(
      {},
      {
        onStep(_st, rec) {
          for (const o of obsOf(rec, 'account')) {
            if (o.now < o.base) return verdict(`locked_vm went to ${o.now}, below its starting ${o.base}, in ${o.reason} (${o.delta})`, [o.actor]);
          }
          return null;
        },
        atQuiescence(_st, q) {
          if (!allDone(q)) return null;
          const M = q.shared?.('tce.mem') as MemState;
          const T = q.shared?.('tce.tables') as TablesState;
          const C = q.shared?.('tce.container') as ContainerState;
          const P = q.shared?.('tce.prereg') as PreregState;
          // The tables the container still references (an allocated table it lost track of is a leak).
          const tables = C.d.tables.filter((id): id is string => !!id).map((id) => T.table(id)).filter((t) => t.vfio && !t.freed);
          const tablePages = tables.reduce((s, t) => s + t.accounted, 0);
          const window = C.d.enabled && !C.d.v2 ? C.d.lockedPages : 0;
          const regions = P.d.list.map((id) => P.d.regions[id]).filter((r) => !r.devmem);
          const regionPages = regions.reduce((s, r) => s + r.entries, 0);
          const expect = M.d.base + tablePages + window + regionPages;
          if (M.lockedVm() !== expect) {
            return verdict(
              `at quiescence locked_vm is ${M.lockedVm()} but ${expect} is locked: base ${M.d.base} + tables ${tablePages} (${tables.map((t) => t.id).join(', ') || 'none'}) + v1 window ${window} + regions ${regionPages} (${regions.map((r) => r.id).join(', ') || 'none'})`,
            );
          }
          return null;
        },
      },
    );
  },
};
