/**
 * entries-in-window: every TCE a MAP/UNMAP/hcall writes lies inside its table's DMA window
 * [it_offset, it_offset + it_size). iommu_tce_check_ioba() must check the whole range, not only
 * the first entry (6.17 ignores npages: a MAP ending past the window writes past the table).
 */
import type { Monitor } from '../../../core/model/monitor.ts';
import { stateful } from '../../../core/model/monitor.ts';
import type { TablesState } from '../state/tables.ts';
import { obsOf, verdict } from './util.ts';

export const entriesInWindow: Monitor = {
  name: 'entries-in-window',
  description: 'no TCE is written outside its table’s window',
  kind: 'safety',
  observes: ['obs:tce-set'],
  create() {
    return stateful<Record<string, never>>(
      {},
      {
        onStep(_st, rec) {
          for (const o of obsOf(rec, 'tce-set')) {
            if (!o.inWindow) return verdict(`${o.actor} wrote TCE entry ${o.entry} (index ${o.index}) of table ${o.table} in ${o.by}: outside the table's window (an out-of-bounds write)`, [o.actor]);
          }
          return null;
        },
        atQuiescence(_st, q) {
          const T = q.shared?.('tce.tables') as TablesState | undefined;
          for (const t of Object.values(T?.d.tables ?? {})) {
            const oob = Object.keys(t.oob);
            if (oob.length) return verdict(`table ${t.id} [${t.offset}, ${t.offset + t.size}) has entries written past its end at index ${oob.join(', ')}`);
          }
          return null;
        },
      },
    );
  },
};
