/**
 * vfio-scope.mig: QEMU's migration thread on the container: VFIO_IOMMU_DIRTY_PAGES START,
 * GET_BITMAP over a range of whole dmas, STOP (vfio_iommu_type1_dirty_pages, 6.17-rc).
 * GET holds iommu->lock from its checks to its last dma; each dma is one step (idle: the checks,
 * getDma: update_user_bitmap + clear + repopulate of one dma) so lock-free hardware DMA and the
 * user-copy faults interleave. A GET that faults (-EFAULT) is retried once when `retryGet`.
 * The user's bitmap buffer is this thread's memory: it lives in the context.
 */
import { guard } from '../../../core/model/kind.ts';
import type { UserBitmapState } from '../../../kernel/bitmap.ts';
import { EFAULT, getDma, obs, startTracking, stopTracking, userBitmap } from '../paths.ts';
import { IOMMU_LOCK, type MigOp } from '../types.ts';
import { type ThreadContext, type ThreadSnap, endOp, threadKind, threadMachine } from './thread.ts';

export interface MigContext extends ThreadContext {
  ops: MigOp[];
  dmaPages: number;
  retryGet: boolean;
  get: { names: string[]; k: number; base: number; user: UserBitmapState; round: number } | null;
  retried: boolean;
}

export interface MigInput {
  id: string;
  ops: MigOp[];
  dmaPages: number;
  retryGet: boolean;
}

export const migMachine = threadMachine<MigContext, MigInput>({
  id: 'vfio-scope.mig',
  states: {
    idle: ['idle', 'getDma', 'done'],
    getDma: ['getDma', 'idle'],
  },
  context: (i) => ({ id: i.id, held: [], pc: 0, ops: i.ops, dmaPages: i.dmaPages, retryGet: i.retryGet, get: null, retried: false }),
  guards: {
    /** update_user_bitmap shifts a scratch copy (the derived fix); 6.17-rc shifts dma->bitmap in place. */
    shiftsScratchCopy: () => true,
  },
});

type Snap = ThreadSnap<MigContext>;
const op = (s: Snap) => s.context.ops[s.context.pc];

export const migKind = threadKind<MigContext>({
  kind: 'vfio-scope.mig',
  machine: migMachine,
  acquireOf(snap) {
    return snap.value === 'idle' ? IOMMU_LOCK : null;
  },
  label(snap) {
    const o = op(snap);
    if (snap.value === 'getDma') return `getDma:${snap.context.get!.names[snap.context.get!.k]}`;
    return `idle:${o ? (o.op === 'get' ? `get d${o.from}..d${o.to}` : o.op) : ''}`;
  },
  touches() {
    return {};
  },
  step(snap, k, acquire) {
    const c = snap.context;
    const o = op(snap);
    if (snap.value === 'idle') {
      if (o.op === 'start') {
        startTracking(k);
        return endOp(c, acquire, 'vfio_iommu_type1_dirty_pages:START', { retried: false });
      }
      if (o.op === 'stop') {
        stopTracking(k);
        return endOp(c, acquire, 'vfio_iommu_type1_dirty_pages:STOP', { retried: false });
      }
      if (!k.t.s.tracking) {
        obs(k, 'get-done', { ret: -22 });
        return endOp(c, acquire, 'vfio_iommu_type1_dirty_pages:GET_BITMAP', { retried: false });
      }
      const base = o.from * c.dmaPages;
      const end = (o.to + 1) * c.dmaPages;
      const names = k.t.dmaNames().filter((n) => k.t.s.dmas[n].iova >= base && k.t.s.dmas[n].iova < end);
      if (names.length === 0) {
        obs(k, 'get-done', { ret: 0 });
        return endOp(c, acquire, 'vfio_iommu_type1_dirty_pages:GET_BITMAP', { retried: false });
      }
      const get = { names, k: 0, base, user: userBitmap(end - base), round: c.pc * 2 + (c.retried ? 1 : 0) };
      return { next: 'getDma', set: { get }, path: 'vfio_iova_dirty_bitmap' };
    }
    // getDma: one dma of vfio_iova_dirty_bitmap().
    const g = structuredClone(c.get!);
    const ret = getDma(k, g.names[g.k], g.user, g.base, { inPlace: !guard(snap, 'shiftsScratchCopy'), round: g.round });
    if (ret === EFAULT) {
      obs(k, 'get-done', { ret });
      if (c.retryGet && !c.retried) return { next: 'idle', set: { get: null, retried: true }, release: [IOMMU_LOCK], path: 'vfio_iova_dirty_bitmap' };
      return endOp(c, null, 'vfio_iova_dirty_bitmap', { get: null, retried: false });
    }
    g.k++;
    if (g.k < g.names.length) return { next: 'getDma', set: { get: g }, path: 'vfio_iova_dirty_bitmap' };
    obs(k, 'get-done', { ret: 0 });
    return endOp(c, null, 'vfio_iova_dirty_bitmap', { get: null, retried: false });
  },
});
