/**
 * TCE operations shared by the VFIO and KVM paths (arch/powerpc/kernel/iommu.c,
 * drivers/vfio/vfio_iommu_spapr_tce.c, arch/powerpc/kvm/book3s_64_vio.c; 6.17).
 */
import type { Walk } from '../state/tables.ts';
import type { Tce } from '../state/types.ts';
import type { Exec } from './interp.ts';

export const CONTAINER_LOCK = 'tce:container->lock';
export const MEM_LIST_MUTEX = 'mem_list_mutex';
export const MMAP_LOCK = 'mmap_lock';
export const GROUP_MUTEX = 'group->mutex';
export const KVM_SRCU = 'kvm->srcu';

export const EPERM = -1;
export const ENOENT = -2;
export const ENXIO = -6;
export const ENOMEM = -12;
export const EFAULT = -14;
export const EBUSY = -16;
export const ENODEV = -19;
export const EINVAL = -22;
export const ENOSPC = -28;
/** KVM hcall returns (H_SUCCESS = 0). */
export const H_PARAMETER = -4;
export const H_TOO_HARD = 9999;

/** What an exchanged-out TCE still holds until it is released: a v1 pin, or (v2) a mapped count found by its user address. */
export type Held = { pfn: number } | { ua: number };

/**
 * iommu_tce_xchg_no_kill() (kernel/iommu.c): xchg the entry; if the old one was writable
 * (FROM_DEVICE / BIDIRECTIONAL) SetPageDirty(old), unless it is device memory (the
 * mm_iommu_is_devmem() check added by c10c21efa4bc). The cache may now hold old and new.
 * With kill=per-entry (before "vfio/spapr_tce: Invalidate multiple TCEs at once", v5.4) this is
 * iommu_tce_xchg(): the entry is invalidated at once. `ownKill`: a path with its own invalidation
 * (the DMA-API's it_ops->set/clear, the seed's tce_flush), which the kill parameter does not change.
 */
export function exchange(x: Exec, tid: string, idx: number, tce: Tce | null, opts: { ownKill?: boolean } = {}): { ok: true; old: Tce | null } | { ok: false; walk: Walk & { leaf: false } } {
  const S = x.S;
  const r = S.tables.xchg(tid, idx, tce, x.where);
  if (!r.ok) return r;
  const t = S.tables.table(tid);
  S.cache.noteSet(t.offset + idx, r.old, tce);
  if (r.old && r.old.perm === 'RW') {
    const devmem = S.mem.page(r.old.pfn).kind === 'devmem';
    if (!devmem || !x.g('dirtySkipsDevmem')) S.mem.setDirty(r.old.pfn, x.where);
  }
  if (x.params.kill === 'per-entry' && !opts.ownKill) kill(x, tid, t.offset + idx, 1);
  return r;
}

/** iommu_tce_kill(tbl, start, n) → it_ops->tce_kill (pnv_pci_ioda2_tce_invalidate): synchronous. */
export function kill(x: Exec, tid: string, start: number, n: number): void {
  if (n <= 0) return;
  x.S.cache.kill(tid, start, n, x.where);
  x.count('kills');
  x.count('killedEntries', n);
}

/**
 * pnv_tce(..., alloc=true) found an empty indirect slot: pnv_alloc_tce_level() (GFP_ATOMIC, can
 * fail). The new level is installed by the next step (`installLevel`), which retries the walk.
 */
export function allocLevel(x: Exec, tid: string, walk: Walk & { leaf: false }, mirror: boolean, retry: string): boolean {
  if (x.fails('alloc:level', x.p('allocFailRate'))) return false;
  const level = x.S.tables.allocLevel(tid, mirror, walk.depth);
  x.f.pending = { tid, mirror, holder: walk.holder, n: walk.n, level, retry };
  return true;
}

/** cmpxchg(&tmp[n], 0, new) (56090a3902c8); a plain store with the tce-level-alloc-race variant. */
export function installLevel(x: Exec): string {
  const p = x.f.pending as { tid: string; mirror: boolean; holder: string; n: number; level: string; retry: string };
  x.S.tables.install(p.tid, p.mirror, p.holder, p.n, p.level, x.g('levelCmpxchg') ? 'cmpxchg' : 'store');
  x.f.pending = null;
  return p.retry;
}

/** A step that installs the level allocated by the previous one and goes back to the walk. */
export function installStep(retries: readonly string[]) {
  return {
    next: retries,
    fn: 'pnv_tce',
    run: (x: Exec) => x.go(installLevel(x)),
  };
}

/**
 * Release what an old entry held: v1 tce_iommu_unuse_page() (unpin_user_page); v2
 * tce_iommu_unuse_page_v2() / kvmppc_tce_iommu_mapped_dec(): mm_iommu_lookup(*pua) (RCU inside)
 * then mm_iommu_mapped_dec().
 */
export function release(x: Exec, h: Held): void {
  if ('pfn' in h) {
    x.S.mem.unpin(h.pfn, 'vfio');
    return;
  }
  const P = x.S.prereg;
  P.rcuLock(x.self);
  const region = P.lookup(h.ua);
  P.rcuUnlock(x.self);
  if (region) P.mappedDec(region, x.where);
}

/**
 * The old entry was exchanged out: release it now (6.17's order, and the pre-v5.4 per-entry kill
 * where the kill already happened) or, in the corrected order (`releaseAfterKill`), after the
 * iommu_tce_kill() that covers it.
 */
export function retire(x: Exec, h: Held): void {
  if (x.params.kill === 'per-entry' || !x.g('releaseAfterKill')) release(x, h);
  else (x.f.deferred ??= []).push(h);
}

/** Release everything deferred (after the kill). */
export function drain(x: Exec): void {
  for (const h of (x.f.deferred ?? []) as Held[]) release(x, h);
  x.f.deferred = [];
}

export function deferredCount(x: Exec): number {
  return ((x.f.deferred ?? []) as Held[]).length;
}
