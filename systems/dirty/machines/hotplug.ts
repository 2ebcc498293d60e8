/**
 * `dirty.hotplug`: a second userspace thread that unplugs guest memory (or a vIOMMU unmap) while
 * the migration runs: it waits for tracking, then unmaps an area the same way the VMM does
 * (revoke, GET_DIRTY_BITMAP of the area, IOAS_UNMAP), racing the VMM's scans; with
 * partialUnmap=true it also makes an in-kernel iommu_unmap of one page of a block (the
 * pre-6.13 split_blk_unmap path, or today's refusal). Paths: ../paths/ioctl.ts.
 */
import { type IoctlLocal, IOCTL_BEHAVIOURS, ioctlLocal, ioctlStep } from '../paths/ioctl.ts';
import type { DirtyCfg, HotplugOp } from '../types.ts';
import { stateOfPhase, threadKind } from './thread.ts';

const OPS = ['wait', 'unmap', 'pu', 'fin'];
const u = (...xs: string[]) => [...new Set(xs)];

export const hotplugKind = threadKind<IoctlLocal>({
  kind: 'dirty.hotplug',
  behaviours: IOCTL_BEHAVIOURS,
  chart: {
    wait: { description: 'wait until dirty tracking is on', on: { WAIT: OPS } },
    unmap: {
      description: 'IOAS_UNMAP of an area (hot-unplug): revoke, read its dirty bitmap, pages = NULL, unfill, TLBI, remove',
      on: { REVOKE: u('get', 'unmap', ...OPS), UNMAP_BEGIN: u('unmap', ...OPS), UNMAP_STEP: ['unmap'], UNMAP_SYNC: ['unmap'], UNMAP_END: OPS },
    },
    get: {
      description: 'GET_DIRTY_BITMAP of the area before its unmap',
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
    pu: {
      description: 'iommu_unmap of part of a block: refused (6.13+) or split_blk_unmap (before)',
      on: { PU_WALK: u('pu', ...OPS), PU_ALLOC: u('pu', ...OPS), PU_FILL: ['pu'], PU_INSTALL: u('pu', ...OPS), PU_SYNC: OPS },
    },
    fin: { on: { HP_DONE: ['done'] } },
    done: { on: {} },
  },
  step: ioctlStep,
  stateOf: stateOfPhase,
  constants: ['id', 'ops', 'bitmapOffset', 'splitter', 'signalsDone'],
  statistics: ['n'],
});

export function hotplugInput(id: string, ops: HotplugOp[], bitmapOffset: number, splitter: string, cfg: DirtyCfg): IoctlLocal {
  return ioctlLocal(id, ops, bitmapOffset, splitter, cfg.vfio, true);
}
