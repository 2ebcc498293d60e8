/**
 * Small pieces every path uses: building the next step, TLB invalidation commands as steps see
 * them, and the derived `transitional` state (the transitionalSteps cost).
 */
import type { LockMode } from '../../../core/model/locks.ts';
import type { NextStep, StepCtx } from '../machines/thread.ts';
import { IOPT, LOCK_VFIO, PT, TLB, UBUF, entrySize, type Geometry } from '../types.ts';
import { ROOT, type PgTableState } from '../state/pgtable.ts';
import type { SmmuTlbState } from '../state/tlb.ts';

export function step(type: string, o: { label?: string; locks?: [string, LockMode][]; drops?: string[]; reads?: string[]; writes?: string[]; gate?: NextStep['gate'] } = {}): NextStep {
  return {
    type,
    ...(o.label ? { label: o.label } : {}),
    locks: o.locks ?? [],
    ...(o.drops?.length ? { drops: o.drops } : {}),
    reads: o.reads ?? [],
    writes: o.writes ?? [],
    ...(o.gate ? { gate: o.gate } : {}),
  };
}

/** Footprint shorthands. */
export const ALL_PIECES = [PT, TLB, IOPT, UBUF];
export const VFIO_TAKE = (vfio: boolean): [string, LockMode][] => (vfio ? [[LOCK_VFIO, 'write']] : []);
export const VFIO_DROP = (vfio: boolean): string[] => (vfio ? [LOCK_VFIO] : []);

/** One TLBI command by range (iommu_iotlb_sync with a gather whose pgsize is set, flush_walk, a per-block flush). */
export function tlbiRange(c: StepCtx, start: number, end: number, op: string): void {
  const removed = c.tlb().invalidate(start, end);
  c.obs('tlbi', { kind: 'range', start, end, removed, op });
}

export function tlbiAll(c: StepCtx, op: string): void {
  const removed = c.tlb().invalidateAll();
  c.obs('tlbi', { kind: 'all', removed, op });
}

/** Is some page covered by a TLB entry whose source no longer holds that leaf, or by an nT block? */
export function isTransitional(pt: PgTableState, tlb: SmmuTlbState, g: Geometry): boolean {
  for (const e of tlb.entries()) {
    const t = pt.d.tables[e.src.table];
    if (!t || t.freed || !t.linked) return true;
    const p = t.entries[e.src.idx];
    if (p.t !== 'leaf' || p.pa !== e.pa || entrySize(g, t.lvl) !== e.size) return true;
  }
  const seen = new Set<string>();
  const visit = (id: string): boolean => {
    if (seen.has(id)) return false;
    seen.add(id);
    for (const p of pt.table(id).entries) {
      if (p.t === 'leaf' && p.nT) return true;
      if (p.t === 'table' && !pt.table(p.next).freed && visit(p.next)) return true;
    }
    return false;
  };
  return visit(ROOT);
}

/** Recompute `transitional` after a step that changed descriptors or the TLB; report a change. */
export function updateTransitional(c: StepCtx): void {
  const tlb = c.tlb();
  const now = isTransitional(c.pt(), tlb, c.cfg);
  if (now !== tlb.transitional) {
    tlb.transitional = now;
    c.obs('transitional', { on: now });
  }
}
