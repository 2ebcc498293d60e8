/**
 * split-serialized: the seed's claim ("race condition does not exist"): a split never runs while a
 * map, an unmap or a dirty read of the same domain is in progress - which the seed gets only from
 * vfio's iommu->lock. With splitLock=iova-read (the iommufd placement) dirty reads may run beside
 * it (both readers), and map/unmap may run on other areas: then only a map or unmap of the range
 * being split counts. The split's own requester (SET(1) with splitWhen=enable) is not a conflict.
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { is, rangeText, verdict } from './util.ts';

interface St {
  vfio: boolean;
  ops: Record<string, { op: string; actor: string; iova: number; pages: number; step: number }>;
}

export const serialized: Monitor = {
  name: 'split-serialized',
  description: 'a split step never overlaps a map, unmap or dirty read of the domain (of its range, with splitLock=iova-read)',
  kind: 'safety',
  observes: ['obs:op-begin', 'obs:op-end', 'obs:split-step'],
  create(params) {
    return stateful<St>({ vfio: params.splitLock !== 'iova-read', ops: {} }, {
      onStep(st, rec) {
        for (const o of rec.obs) {
          if (is(o, 'op-begin') && o.op !== 'SPLIT') st.ops[o.id] = { op: o.op, actor: o.actor, iova: o.iova ?? 0, pages: o.pages ?? Number.MAX_SAFE_INTEGER, step: rec.i };
          else if (is(o, 'op-end')) delete st.ops[o.id];
          else if (is(o, 'split-step') && o.phase !== 'begin' && o.phase !== 'end') {
            for (const [id, x] of Object.entries(st.ops)) {
              if (x.actor === o.thread) continue;
              const mapping = x.op === 'MAP' || x.op === 'UNMAP' || x.op === 'UNMAP_PARTIAL';
              const overlaps = o.iova >= x.iova && o.iova < x.iova + x.pages;
              if (st.vfio || (mapping && overlaps)) {
                return verdict(`${o.op} (${o.phase} at iova ${o.iova}, L${o.lvl}, for ${o.thread}) runs while ${x.op} ${id} ${rangeText(x.iova, x.pages)} of ${x.actor} is in progress (since step ${x.step})`, [o.actor, x.actor]);
              }
            }
          }
        }
        return null;
      },
    });
  },
};
