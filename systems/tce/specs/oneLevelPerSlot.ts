/**
 * one-level-page-per-slot: an indirect slot of a TCE table (or of its it_userspace mirror) gets
 * one level page for the table's life: pnv_tce() installs with cmpxchg(&tmp[n], 0, new) and the
 * loser frees its page (56090a3902c8). A store over a non-empty slot loses the level below it
 * and every TCE already written there. When idle, no level page is allocated but unreachable.
 */
import type { Monitor } from '../../../core/model/monitor.ts';
import { stateful } from '../../../core/model/monitor.ts';
import type { TablesState } from '../state/tables.ts';
import { allDone, obsOf, verdict } from './util.ts';

export const oneLevelPerSlot: Monitor = {
  name: 'one-level-page-per-slot',
  description: 'an indirect TCE slot is installed once (cmpxchg, the loser frees); no level page leaks',
  kind: 'safety',
  observes: ['obs:level-install'],
  create() {
    return stateful<Record<string, never>>(
      {},
      {
        onStep(_st, rec) {
          for (const o of obsOf(rec, 'level-install')) {
            if (o.won && o.prev !== null) {
              return verdict(`${o.actor} installed level ${o.level} over level ${o.prev} in slot ${o.slot} (${o.mode}): ${o.prev} and the TCEs in it are lost`, [o.actor]);
            }
          }
          return null;
        },
        atQuiescence(_st, q) {
          if (!allDone(q)) return null;
          const T = q.shared?.('tce.tables') as TablesState | undefined;
          const orphans = T?.orphanLevels() ?? [];
          if (orphans.length) return verdict(`level pages allocated but neither reachable nor freed: ${orphans.join(', ')}`);
          return null;
        },
      },
    );
  },
};
