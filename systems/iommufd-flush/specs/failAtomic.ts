/**
 * fail-atomic: an ioctl that fails because of an injected failure (an allocation, GUP, iommu_map,
 * locked_vm: iommufd_fail_nth's sites) leaves everything as before: its own journal of IOPTEs,
 * pins, xarray entries, interval-tree nodes, areas, domains and objects nets to zero. The journal
 * is per thread, so other threads' work does not count.
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { observed } from '../../../core/model/observations.ts';
import type { FlushObservations } from '../types.ts';

export const failAtomic: Monitor = {
  name: 'fail-atomic',
  description: 'an ioctl failed by an injected fault leaves everything as it was',
  kind: 'safety',
  observes: ['obs:ioctl-end'],
  create() {
    return stateful<Record<string, never>>({}, {
      onStep(_s, rec) {
        for (const o of observed<FlushObservations, 'ioctl-end'>(rec, 'ioctl-end')) {
          if (o.rc < 0 && o.fault && o.residual.length) return { message: `${o.actor}: ${o.op} failed (rc ${o.rc}) at fail site ${o.fault} leaving ${o.residual.join(', ')}`, actors: [o.actor], messages: [] };
        }
        return null;
      },
    });
  },
};
