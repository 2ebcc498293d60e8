/**
 * vfio-scope.vmm: the VMM thread that owns the container (QEMU's memory listener and device
 * setup): VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA (with or without GET_DIRTY_BITMAP),
 * VFIO_GROUP_SET_CONTAINER (attach) and UNSET_CONTAINER (detach; only once the group has no open
 * device).
 *
 * vfio_dma_do_unmap() with pinned pages (6.17-rc): vfio_notify_dma_unmap() drops iommu->lock
 * and calls every registered device's dma_unmap under iommu->device_list_lock; each driver's
 * vfio_unpin_pages takes iommu->lock; then iommu->lock is re-taken and the dma checked again
 * (`goto again`, BUG_ON(++retries > 10)). States:
 *   idle           takes iommu->lock and runs the op (unmap: its first check)
 *   notifyList     (fixed) iommu->lock dropped; takes device_list_lock
 *   notifyUnder    (6.17) takes device_list_lock with iommu->lock still held, then drops iommu->lock
 *   callback       takes iommu->lock for one device's dma_unmap (vfio_unpin_pages), drops it
 *   relock         takes iommu->lock again: the check once more
 *   detachCore     refuse-join: clears the group's has-pinned flag under its device_lock
 */
import { IOMMU_LOCK, DEVICE_LIST_LOCK, deviceLock, type VmmOp } from '../types.ts';
import { attachGroup, detachGroup, dmaUnmapCallback, mapDma, obs, setHasPinned, unmapReportRemove, type Kernel } from '../paths.ts';
import { type StepResult, type ThreadContext, type ThreadSnap, endOp, held, threadKind, threadMachine } from './thread.ts';
import { guard } from '../../../core/model/kind.ts';
import type { CoreState } from '../state/core.ts';
import type { SingletonRule } from '../types.ts';
import { CORE } from '../types.ts';

export interface VmmContext extends ThreadContext {
  ops: VmmOp[];
  /** First page (iova) and pages of each dma name. */
  layout: Record<string, { iova: number; pages: number }>;
  groupKinds: Record<string, 'iommu' | 'emulated'>;
  singleton: SingletonRule;
  /** The dma_unmap round in progress. */
  notify: { dma: string; inst: string; devs: string[]; i: number; retries: number } | null;
}

export interface VmmInput {
  id: string;
  ops: VmmOp[];
  layout: Record<string, { iova: number; pages: number }>;
  groupKinds: Record<string, 'iommu' | 'emulated'>;
  singleton: SingletonRule;
}

export const vmmMachine = threadMachine<VmmContext, VmmInput>({
  id: 'vfio-scope.vmm',
  states: {
    idle: ['idle', 'notifyList', 'notifyUnder', 'detachCore', 'done'],
    notifyList: ['callback'],
    notifyUnder: ['callback', 'relock'],
    callback: ['callback', 'relock'],
    relock: ['idle', 'notifyList', 'notifyUnder', 'done'],
    detachCore: ['idle'],
  },
  context: (i) => ({ id: i.id, held: [], pc: 0, ops: i.ops, layout: i.layout, groupKinds: i.groupKinds, singleton: i.singleton, notify: null }),
  guards: {
    /** d0a78f91761f: a detached non-pinned group populates every bitmap while tracking. */
    populatesFullOnDetach: () => true,
    /** Detach updates the scope even when the domain keeps other groups (the refactor's early return did not). */
    scopeUpdateWhenDomainKeepsGroups: () => true,
    /**
     * The notify window drops iommu->lock BEFORE taking device_list_lock (the derived fix: order
     * device_list_lock -> iommu->lock everywhere). 6.17-rc takes device_list_lock first.
     */
    notifyDropsIommuLockFirst: () => true,
    /** MAP_DMA while tracking allocates the new dma's bitmap (vfio_dma_do_map). */
    allocsBitmapOnMapWhileTracking: () => true,
    /** refuse-join: the has-pinned flag is cleared when the group leaves the container. */
    clearsHasPinnedOnDetach: ({ context }) => context.singleton === 'refuse-join',
  },
});

type Snap = ThreadSnap<VmmContext>;
const op = (s: Snap) => s.context.ops[s.context.pc];

/**
 * The check at the top of vfio_dma_do_unmap()'s loop, with iommu->lock held: -EINVAL for the
 * bitmap flag without tracking; nothing to do without the dma; pinned pages -> notify the
 * devices; else report (flag) and remove.
 */
function unmapCheck(snap: Snap, k: Kernel, acquire: string | null, path: string): StepResult {
  const c = snap.context;
  const o = op(snap) as Extract<VmmOp, { op: 'unmap' }>;
  if (o.bitmap && !k.t.s.tracking) return endOp(c, acquire, path, { notify: null });
  const d = k.t.s.dmas[o.dma];
  if (!d) return endOp(c, acquire, path, { notify: null });
  if (Object.keys(d.pfn).length > 0) {
    const retries = c.notify && c.notify.inst === d.inst ? c.notify.retries + 1 : 0;
    if (retries > 10 || k.t.s.devList.length === 0) {
      obs(k, 'bug-on', { dma: o.dma, retries });
      return { next: 'done', set: { notify: null }, release: held(c, acquire), path };
    }
    const notify = { dma: o.dma, inst: d.inst, devs: [...k.t.s.devList], i: 0, retries };
    if (guard(snap, 'notifyDropsIommuLockFirst')) return { next: 'notifyList', set: { notify }, release: [IOMMU_LOCK], path: 'vfio_notify_dma_unmap' };
    return { next: 'notifyUnder', set: { notify }, path: 'vfio_notify_dma_unmap' };
  }
  unmapReportRemove(k, o.dma, o.bitmap);
  return endOp(c, acquire, path, { notify: null });
}

export const vmmKind = threadKind<VmmContext>({
  kind: 'vfio-scope.vmm',
  machine: vmmMachine,
  acquireOf(snap) {
    switch (snap.value) {
      case 'idle':
      case 'callback':
      case 'relock':
        return IOMMU_LOCK;
      case 'notifyList':
      case 'notifyUnder':
        return DEVICE_LIST_LOCK;
      case 'detachCore':
        return deviceLock((op(snap) as Extract<VmmOp, { op: 'detach' }>).group);
    }
    return null;
  },
  enabled(snap, view) {
    const o = op(snap);
    // VFIO_GROUP_UNSET_CONTAINER: only once no device of the group is open.
    if (snap.value === 'idle' && o?.op === 'detach') return (view.shared<CoreState>(CORE).s[o.group]?.open ?? 0) === 0;
    return true;
  },
  label(snap) {
    const o = op(snap);
    const what = o ? `${o.op} ${'dma' in o ? o.dma : o.group}${o.op === 'unmap' && o.bitmap ? ' +bitmap' : ''}` : '';
    return `${String(snap.value)}:${what}`;
  },
  touches(snap) {
    const o = op(snap);
    if (snap.value === 'idle' && o?.op === 'detach') return { reads: [`${CORE}:${o.group}`] };
    if (snap.value === 'detachCore' && o?.op === 'detach') return { reads: [`${CORE}:${o.group}`], writes: [`${CORE}:${o.group}`] };
    return {};
  },
  step(snap, k, acquire) {
    const c = snap.context;
    const o = op(snap);
    switch (snap.value) {
      case 'idle':
        switch (o.op) {
          case 'map': {
            const at = c.layout[o.dma];
            mapDma(k, o.dma, at.iova, at.pages, { allocBitmapWhileTracking: guard(snap, 'allocsBitmapOnMapWhileTracking') });
            return endOp(c, acquire, 'vfio_dma_do_map');
          }
          case 'unmap':
            return unmapCheck(snap, k, acquire, 'vfio_dma_do_unmap');
          case 'attach':
            attachGroup(k, o.group, c.groupKinds[o.group]);
            return endOp(c, acquire, 'vfio_iommu_type1_attach_group');
          case 'detach': {
            const kind = k.t.s.groups[o.group]?.kind;
            detachGroup(k, o.group, { populateFull: guard(snap, 'populatesFullOnDetach'), earlyReturn: !guard(snap, 'scopeUpdateWhenDomainKeepsGroups') });
            if (kind === 'iommu' && guard(snap, 'clearsHasPinnedOnDetach')) return { next: 'detachCore', release: held(c, acquire), path: 'vfio_iommu_type1_detach_group' };
            return endOp(c, acquire, 'vfio_iommu_type1_detach_group');
          }
        }
        throw new Error(`vmm: unknown op ${JSON.stringify(o)}`);
      case 'notifyUnder':
        // mutex_lock(&iommu->device_list_lock); mutex_unlock(&iommu->lock);
        return { next: 'callback', release: [IOMMU_LOCK], path: 'vfio_notify_dma_unmap' };
      case 'notifyList':
        return { next: 'callback', path: 'vfio_notify_dma_unmap' };
      case 'callback': {
        const n = c.notify!;
        dmaUnmapCallback(k, n.devs[n.i], n.inst);
        const notify = { ...n, i: n.i + 1 };
        if (notify.i < n.devs.length) return { next: 'callback', set: { notify }, release: [IOMMU_LOCK], path: 'vfio_unpin_pages' };
        return { next: 'relock', set: { notify }, release: [IOMMU_LOCK, DEVICE_LIST_LOCK], path: 'vfio_unpin_pages' };
      }
      case 'relock':
        return unmapCheck(snap, k, acquire, 'vfio_dma_do_unmap');
      case 'detachCore':
        setHasPinned(k, (o as Extract<VmmOp, { op: 'detach' }>).group, false);
        return endOp(c, acquire, 'vfio_group_detach_container');
    }
    throw new Error(`vmm: no step in state ${String(snap.value)}`);
  },
});
