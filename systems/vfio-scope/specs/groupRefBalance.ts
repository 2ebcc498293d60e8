/**
 * group-ref-balance: every vfio_group reference vfio_pin_pages takes (≤6.0
 * vfio_group_get_from_dev) is put on every return path (28b130244061: the -EINVAL of the
 * singleton check returned without vfio_group_put). At the end of the run each group holds only
 * its own reference.
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import type { CoreState } from '../state/core.ts';
import { CORE } from '../types.ts';

export const groupRefBalance: Monitor = {
  name: 'group-ref-balance',
  description: 'every vfio_group reference taken by vfio_pin_pages is put: each group ends with refcount 1',
  kind: 'liveness',
  observes: ['obs:group-ref'],
  create() {
    return stateful({ open: {} as Record<string, string[]> }, {
      onStep(st, rec) {
        for (const o of rec.obs) {
          if (o.what !== 'group-ref') continue;
          const l = (st.open[String(o.g)] ??= []);
          if (Number(o.delta) > 0) l.push(`${o.path}@${rec.i}`);
          else l.shift();
        }
        return null;
      },
      atQuiescence(st, q) {
        const core = q.shared?.(CORE) as CoreState | undefined;
        if (!core) return null;
        for (const [g, c] of Object.entries(core.s)) {
          if (c.refs !== 1) return { message: `vfio_group ${g} ends with refcount ${c.refs}, expected 1: references taken and never put by ${(st.open[g] ?? []).join(', ') || '?'}`, actors: [], messages: [] };
        }
        return null;
      },
    });
  },
};
