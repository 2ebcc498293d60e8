/**
 * kernel-destroy-succeeds: a kernel destroy of an object whose reference the kernel owns
 * (iommufd_access_destroy -> iommufd_object_destroy_user) always succeeds: WARN_ON(!was_destroyed)
 * otherwise, and the object leaks or is freed under its owner (99f98a7c0d69, CVE-2023-53795).
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { observed } from '../../../core/model/observations.ts';
import type { FlushObservations } from '../types.ts';

export const kernelDestroySucceeds: Monitor = {
  name: 'kernel-destroy-succeeds',
  description: 'iommufd_access_destroy() always destroys the object',
  kind: 'safety',
  observes: ['obs:kernel-destroy'],
  create() {
    return stateful<Record<string, never>>({}, {
      onStep(_s, rec) {
        for (const o of observed<FlushObservations, 'kernel-destroy'>(rec, 'kernel-destroy')) {
          if (!o.ok) return { message: `${o.actor}: iommufd_object_destroy_user(${o.obj}) failed with users ${o.users} (someone else holds a users reference): WARN_ON(!was_destroyed)`, actors: [o.actor], messages: [] };
        }
        return null;
      },
    });
  },
};
