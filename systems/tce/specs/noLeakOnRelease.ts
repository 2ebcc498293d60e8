/**
 * no-leak-on-release: after the container is closed (tce_iommu_release) and every thread is done,
 * nothing it owned is left: no registered region (other than the GPU driver's), no pinned page,
 * no VFIO table, no locked_vm.
 */
import type { Monitor } from '../../../core/model/monitor.ts';
import { stateful } from '../../../core/model/monitor.ts';
import type { ContainerState } from '../state/container.ts';
import type { MemState } from '../state/mem.ts';
import type { PreregState } from '../state/prereg.ts';
import type { TablesState } from '../state/tables.ts';
import { allDone, verdict } from './util.ts';

export const noLeakOnRelease: Monitor = {
  name: 'no-leak-on-release',
  description: 'after the container is released: no region, pin, table or locked_vm left',
  kind: 'liveness',
  observes: [],
  create() {
    return stateful<Record<string, never>>(
      {},
      {
        atQuiescence(_st, q) {
          if (!allDone(q)) return null;
          const C = q.shared?.('tce.container') as ContainerState;
          if (!C.d.released) return null;
          const P = q.shared?.('tce.prereg') as PreregState;
          const M = q.shared?.('tce.mem') as MemState;
          const T = q.shared?.('tce.tables') as TablesState;
          const leaks: string[] = [];
          const regions = P.d.list.filter((id) => !P.d.regions[id].devmem);
          if (regions.length) leaks.push(`regions still registered: ${regions.map((id) => `${id}(used ${P.d.regions[id].used}, mapped ${P.d.regions[id].mapped})`).join(', ')}`);
          const pins = M.outstanding();
          if (pins.length) leaks.push(`pages still pinned: ${pins.join(', ')}`);
          const tables = Object.values(T.d.tables).filter((t) => t.vfio && !t.freed);
          if (tables.length) leaks.push(`VFIO tables not freed: ${tables.map((t) => t.id).join(', ')}`);
          if (M.lockedVm() !== M.d.base) leaks.push(`locked_vm ${M.lockedVm()} (started at ${M.d.base})`);
          if (leaks.length) return verdict(`after tce_iommu_release: ${leaks.join('; ')}`);
          return null;
        },
      },
    );
  },
};
