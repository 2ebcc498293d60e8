/**
 * fields-under-lock: every write of a documented field happens with its lock held by the writing
 * thread (the lock held at the step's start or taken at its start: a step is atomic).
 *   type1.* (struct vfio_iommu, vfio_dma, vfio_iommu_group)  iommu->lock
 *   type1.devList (iommu->device_list)                       iommu->lock and device_list_lock
 *   core.* of group g (devices, devCounter, hasPinned, open) g's device_lock
 * The ≤6.0 unlocked READ of dev_counter in vfio_pin_pages is allowed (singleton-check{locked:false}).
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { DEVICE_LIST_LOCK, IOMMU_LOCK, deviceLock } from '../types.ts';

export function locksFor(obj: string, field: string, key?: string): string[] {
  if (obj === 'core') return [deviceLock(String(key))];
  if (field === 'devList') return [IOMMU_LOCK, DEVICE_LIST_LOCK];
  return [IOMMU_LOCK];
}

export const fieldsUnderLock: Monitor = {
  name: 'fields-under-lock',
  description: 'type1 fields are written under iommu->lock (the device list also under device_list_lock), vfio core group fields under the group device_lock',
  kind: 'safety',
  observes: ['locks', 'obs:field-write'],
  create() {
    return stateful({ held: {} as Record<string, string[]> }, {
      onStep(st, rec) {
        const during: Record<string, string[]> = {};
        for (const [by, l] of Object.entries(st.held)) during[by] = [...l];
        for (const e of rec.locks) if (e.op === 'acquire') (during[e.by] ??= []).push(e.lock);
        for (const o of rec.obs) {
          if (o.what !== 'field-write') continue;
          const need = locksFor(String(o.obj), String(o.field), o.key === undefined ? undefined : String(o.key));
          const have = during[o.actor] ?? [];
          const missing = need.filter((l) => !have.includes(l));
          if (missing.length) {
            return { message: `${o.actor} writes ${o.obj}.${o.field}${o.key !== undefined ? `[${o.key}]` : ''} without ${missing.join(' and ')} (holds: ${have.join(', ') || 'nothing'})`, actors: [o.actor], messages: [] };
          }
        }
        for (const e of rec.locks) {
          const l = (st.held[e.by] ??= []);
          if (e.op === 'acquire') l.push(e.lock);
          else {
            const i = l.lastIndexOf(e.lock);
            if (i >= 0) l.splice(i, 1);
          }
        }
        return null;
      },
    });
  },
};
