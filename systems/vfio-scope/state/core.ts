/**
 * The vfio core's struct vfio_group, one per group (drivers/vfio/group.c, vfio_main.c; ≤6.0:
 * drivers/vfio/vfio.c), as plain data.
 *
 * Locking:
 *   devices, devCounter (≤6.0 dev_counter)  group->device_lock (vfio_group_create_device /
 *                                          vfio_device_release); ≤6.0 vfio_pin_pages() READ
 *                                          dev_counter without it
 *   hasPinned (the seed's refuse-join flag) group->device_lock
 *   open (devices open; a group can leave its container only with none open)
 *                                          group->device_lock
 *   refs (the group kref)                  atomic (kref_get / vfio_group_put)
 * Ownership: the vfio core owns the group; vfio_pin_pages() (v5.8-v6.0) holds one reference from
 * vfio_group_get_from_dev() to vfio_group_put() at its end (28b130244061 added the put on the
 * -EINVAL path).
 */
import type { SharedPort, SharedState } from '../../../core/model/shared.ts';
import type { Observation } from '../../../core/model/effects.ts';
import { CORE } from '../types.ts';

export interface CoreGroup {
  kind: 'iommu' | 'emulated';
  devices: string[];
  devCounter: number;
  /** kref, 1 for the group's own existence. */
  refs: number;
  hasPinned: boolean;
  open: number;
}

export class CoreState implements SharedState {
  readonly name = CORE;
  private port: SharedPort | null = null;

  constructor(public s: Record<string, CoreGroup>) {}

  connect(port: SharedPort): void {
    this.port = port;
  }

  observe(o: Observation): void {
    this.port?.observe(o);
  }

  /** The initial groups and their devices, filed under step 0. */
  announce(): void {
    for (const [g, x] of Object.entries(this.s)) this.observe({ what: 'core-init', g, devices: [...x.devices], devCounter: x.devCounter });
  }

  snapshot(): unknown {
    return structuredClone(this.s);
  }

  restore(s: unknown): void {
    this.s = structuredClone(s as Record<string, CoreGroup>);
  }

  view(): unknown {
    return this.s;
  }
}
