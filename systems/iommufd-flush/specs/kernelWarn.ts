/**
 * kernel-warn: no WARN_ON of the paths fires (the CONFIG_IOMMUFD_TEST assertions the selftests
 * rely on: an unmap of nothing, iopt_release_pages with pins or nodes left, last_npinned out of
 * step, a batch read past its end, an interval-tree node removed that was not in the tree, ...).
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { observed } from '../../../core/model/observations.ts';
import type { FlushObservations } from '../types.ts';

export const kernelWarn: Monitor = {
  name: 'kernel-warn',
  description: 'no WARN_ON in the iommufd paths',
  kind: 'safety',
  observes: ['obs:warn'],
  create() {
    return stateful<Record<string, never>>({}, {
      onStep(_s, rec) {
        for (const o of observed<FlushObservations, 'warn'>(rec, 'warn')) return { message: `WARN in ${o.where} (${o.actor}): ${o.detail}`, actors: [o.actor], messages: [] };
        return null;
      },
    });
  },
};
