/**
 * dirty-walker-leaf-only: visit_dirty tests, records and clears leaf descriptors only (the
 * `if (!iopte_leaf(*ptep, lvl, fmt)) return 0` the walker refactor needed once io_pgtable_visit()
 * called visit() before its own leaf test). The walker reports, for each descriptor it visits,
 * what it read and whether it applied the dirty test to it; the monitor checks the descriptor kind.
 * With real encodings a table never has DBM set (bit 51 is not an address bit of a table), so the
 * test is harmless there: this is how that latent bug is found anyway.
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { is, verdict } from './util.ts';

export const walkerLeafOnly: Monitor = {
  name: 'dirty-walker-leaf-only',
  description: 'the dirty walker applies the dirty test, records and clears only leaf descriptors',
  kind: 'safety',
  observes: ['obs:dirty-visit'],
  create() {
    return stateful<Record<string, never>>({}, {
      onStep(_st, rec) {
        for (const o of rec.obs) {
          if (is(o, 'dirty-visit') && o.kind !== 'leaf' && (o.tested || o.recorded || o.cleared)) {
            return verdict(
              `${o.op}'s visit_dirty applied the dirty test to a ${o.kind} descriptor at L${o.lvl} ${o.table}[${o.idx}] (${o.pte}) spanning [${o.start},${o.start + o.size})${o.recorded ? `, recorded [${o.recorded.join(',')})` : ''}${o.cleared ? ', and set its bit 7' : ''}`,
              [o.actor],
            );
          }
        }
        return null;
      },
    });
  },
};
