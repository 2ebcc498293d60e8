/**
 * `dirty.vmm`: the VMM's migration thread (userspace), walking `workload.vmm` through iommufd:
 * IOAS_MAP, IOAS_UNMAP (revoke, GET_DIRTY_BITMAP of the area, unmap), SET_DIRTY_TRACKING,
 * GET_DIRTY_BITMAP with flags 0 or NO_CLEAR (one ioctl per run of contiguous live areas, as QEMU
 * does per section; on -EINVAL it asks again for what is still mapped, on another error it aborts
 * the migration), and a fence before its final round (QUIESCE). Paths: ../paths/ioctl.ts.
 */
import { type IoctlLocal, IOCTL_BEHAVIOURS, ioctlLocal, ioctlStep } from '../paths/ioctl.ts';
import type { DirtyCfg, VmmOp } from '../types.ts';
import { stateOfPhase, threadKind } from './thread.ts';

const OPS = ['map', 'unmap', 'get', 'set', 'quiesce', 'done'];
const u = (...xs: string[]) => [...new Set(xs)];

export const vmmKind = threadKind<IoctlLocal>({
  kind: 'dirty.vmm',
  behaviours: IOCTL_BEHAVIOURS,
  chart: {
    map: {
      description: 'IOAS_MAP: insert the area (iova_rwsem write), fill the domain (domains_rwsem read), publish area->pages',
      on: { MAP_INSERT: u('map', ...OPS), MAP_FILL: ['map'], MAP_UNWIND: OPS, MAP_PUBLISH: OPS },
    },
    unmap: {
      description: 'IOAS_UNMAP: revoke, read the area dirty bitmap, pages = NULL, unfill, TLBI, remove',
      on: { REVOKE: u('get', 'unmap', ...OPS), UNMAP_BEGIN: u('unmap', ...OPS), UNMAP_STEP: ['unmap'], UNMAP_SYNC: ['unmap'], UNMAP_END: OPS },
    },
    get: {
      description: 'GET_DIRTY_BITMAP: iova_rwsem read, iova_bitmap over the user buffer, the walker, iotlb sync',
      on: {
        GET_BEGIN: u('get', 'unmap', ...OPS),
        GET_LOCK: ['get'],
        GET_PIN: ['get'],
        GET_VISIT: ['get'],
        GET_ADVANCE: ['get'],
        GET_SYNC: ['get'],
        GET_END: u('get', 'unmap', ...OPS),
      },
    },
    set: {
      description: 'SET_DIRTY_TRACKING: iova_rwsem read, (split first with the seed), clear every area, iotlb sync',
      on: { SET_BEGIN: ['set'], SPLIT_DONE: ['set'], SET_VISIT: ['set'], SET_SYNC: ['set'], SET_END: OPS },
    },
    quiesce: { description: 'wait until the device and the hotplug thread are done', on: { QUIESCE: OPS } },
    done: { on: {} },
  },
  step: ioctlStep,
  stateOf: stateOfPhase,
  constants: ['id', 'ops', 'bitmapOffset', 'splitter', 'signalsDone'],
  statistics: ['n'],
});

export function vmmInput(id: string, ops: VmmOp[], bitmapOffset: number, splitter: string, cfg: DirtyCfg): IoctlLocal {
  return ioctlLocal(id, ops, bitmapOffset, splitter, cfg.vfio, false);
}
