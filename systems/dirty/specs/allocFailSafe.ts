/**
 * split-alloc-fail-safe: when a split's GFP_ATOMIC table allocation fails, the block stays as it
 * was: the split installs nothing in that block's slot, and the split reports less than it was
 * asked to split (the rest stays block-granular, the fallback the seed promises).
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { is, verdict } from './util.ts';

interface St {
  /** op -> slot -> step of the failed allocation. */
  failed: Record<string, Record<string, number>>;
}

export const allocFailSafe: Monitor = {
  name: 'split-alloc-fail-safe',
  description: 'after a failed split allocation the block slot is left alone and the split reports a partial size',
  kind: 'safety',
  observes: ['obs:table-alloc', 'obs:install-table', 'obs:pte-write', 'obs:split-return'],
  create() {
    return stateful<St>({ failed: {} }, {
      onStep(st, rec) {
        for (const o of rec.obs) {
          if (is(o, 'table-alloc') && !o.ok && o.slot && o.by !== '__arm_lpae_map') {
            (st.failed[o.op] ??= {})[`${o.slot.table}[${o.slot.idx}]`] = rec.i;
          } else if ((is(o, 'install-table') && o.ok) || (is(o, 'pte-write') && o.kind === 'nT')) {
            const slot = `${o.table}[${o.idx}]`;
            const at = st.failed[o.op]?.[slot];
            if (at !== undefined) {
              const what = is(o, 'install-table') ? `installs table ${o.newTable} over the block` : 'writes nT into the block';
              return verdict(`${o.op}'s table allocation for the block at ${slot} [${o.start},${o.start + o.size}) failed at step ${at}, yet it ${what}: the mapping changed`, [o.actor]);
            }
          } else if (is(o, 'split-return')) {
            const f = st.failed[o.op];
            delete st.failed[o.op];
            if (f && Object.keys(f).length && o.split >= o.requested) {
              return verdict(`${o.op} reports ${o.split} of ${o.requested} pages split although its allocation for ${Object.keys(f).join(', ')} failed`, [o.actor]);
            }
          }
        }
        return null;
      },
    });
  },
};
