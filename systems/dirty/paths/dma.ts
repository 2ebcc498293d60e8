/**
 * A DMA master behind the SMMU (hardware). Each access looks the TLB up; on a miss it walks the
 * table one level per step and fills the TLB with the leaf's writable and dirty state (not for an
 * nT block: it is used once and not cached). HTTU (SMMUv3 HD): a write through a writable-clean
 * leaf clears its AP_RDONLY with an atomic RMW in the same step as the read; a write through an
 * entry cached dirty updates no descriptor (tlbCachesDirty, the reason for the sync after a clear).
 *
 * A write through a cached writable-clean entry makes the SMMU update the descriptor the entry came
 * from (`src`). Named behaviour `hwRewalksStaleEntry` (the fixed model's hardware assumption, see
 * docs/dirty.md): the update re-validates the descriptor (still that leaf), and on a mismatch the
 * entry is dropped and the walk redone; the `stale-block-tlb-after-split` variant updates bit 7 of
 * whatever is at `src` (a table descriptor after a split) and marks the entry dirty anyway.
 *
 * Not modelled: in-flight walks across a CMD_SYNC: a walk that reaches a table no longer linked
 * (freed by unmap) restarts at the root, as if the sync had drained it.
 */
import type { EventObject } from 'xstate';
import type { StepCtx, ThreadLocal } from '../machines/thread.ts';
import { type DevOp, IOPT, PT, type Pte, TLB, type TlbEntry, entrySize, lvlIdx } from '../types.ts';
import { ROOT } from '../state/pgtable.ts';
import { step, updateTransitional } from './common.ts';

export interface DevLocal extends ThreadLocal {
  ops: DevOp[];
  i: number;
  walk: { table: string; lvl: number; restarts: number } | null;
  fills: number;
}

export const DEV_BEHAVIOURS = {
  /** The HTTU update of a cached clean entry re-validates its descriptor (fixed model's assumption). */
  hwRewalksStaleEntry: true,
};

const ACCESS = { reads: [PT, TLB], writes: [PT, TLB] };

/** Point the device at its next op. */
export function devNext(l: DevLocal): void {
  l.walk = null;
  const op = l.ops[l.i];
  if (!op) {
    l.phase = 'fin';
    l.next = step('DEV_DONE', { writes: [IOPT] });
    return;
  }
  if (op.op === 'WAIT_TRACKING') {
    l.phase = 'wait';
    l.next = step('DMA_WAIT', { gate: 'tracking' });
    return;
  }
  l.phase = 'dma.lookup';
  l.next = step('DMA_LOOKUP', { label: `${op.op} ${op.page}`, ...ACCESS });
}

function opDone(l: DevLocal): void {
  l.i++;
  devNext(l);
}

export function devStep(l: DevLocal, event: EventObject, c: StepCtx): void {
  switch (event.type) {
    case 'DMA_WAIT':
      return opDone(l);
    case 'DEV_DONE':
      c.iopt().d.devDone = true;
      l.phase = 'done';
      l.next = null;
      return;
    case 'DMA_LOOKUP':
      lookup(l, c);
      break;
    case 'DMA_WALK':
      walkStep(l, c);
      break;
    default:
      throw new Error(`${l.id}: no step ${event.type}`);
  }
  updateTransitional(c);
}

function lookup(l: DevLocal, c: StepCtx): void {
  const op = l.ops[l.i] as Extract<DevOp, { page: number }>;
  const tlb = c.tlb();
  const hit = tlb.lookup(op.page);
  if (!hit) return startWalk(l);
  const [key, e] = hit;
  const pa = e.pa + (op.page - e.base);
  const src = `${e.src.table}[${e.src.idx}]`;
  if (op.op === 'READ') {
    c.obs('translate', { page: op.page, pa, writable: e.writable, via: 'tlb' });
    return opDone(l);
  }
  if (!e.writable) {
    c.obs('dma-fault', { page: op.page, reason: 'permission' });
    return opDone(l);
  }
  if (e.dirty && c.cfg.tlbCachesDirty) {
    c.obs('translate', { page: op.page, pa, writable: true, via: 'tlb' });
    c.obs('dma-write', { page: op.page, pa, via: 'tlb-dirty', span: [e.base, e.base + e.size], src });
    return opDone(l);
  }
  // HTTU dirty-state update of the descriptor the entry came from.
  const pt = c.pt();
  const t = pt.d.tables[e.src.table];
  const d: Pte = t ? t.entries[e.src.idx] : { t: 'inv' };
  if (c.beh.hwRewalksStaleEntry) {
    const same = t && !t.freed && t.linked && d.t === 'leaf' && d.pa === e.pa && d.dbm && entrySize(c.cfg, t.lvl) === e.size;
    if (!same) {
      // The descriptor changed under the entry: drop it and translate again.
      tlb.cache.evict(key);
      return startWalk(l);
    }
    if (d.t === 'leaf' && d.ro) {
      pt.write(e.src.table, e.src.idx, { ...d, ro: false });
      c.obs('hw-dirty', { table: e.src.table, idx: e.src.idx, start: e.base, size: e.size, target: 'leaf', blind: false });
    }
  } else {
    if (d.t === 'leaf') pt.write(e.src.table, e.src.idx, { ...d, ro: false });
    else if (d.t === 'table') pt.write(e.src.table, e.src.idx, { ...d, ign7: false });
    c.obs('hw-dirty', { table: e.src.table, idx: e.src.idx, start: e.base, size: e.size, target: d.t === 'inv' ? 'invalid' : d.t, blind: true });
  }
  tlb.cache.fill(key, { ...e, dirty: true });
  c.obs('tlb-dirty', { base: e.base, src });
  c.obs('translate', { page: op.page, pa, writable: true, via: 'tlb' });
  c.obs('dma-write', { page: op.page, pa, via: c.beh.hwRewalksStaleEntry ? 'tlb-clean-rmw' : 'tlb-clean-blind', span: [e.base, e.base + e.size], src });
  opDone(l);
}

function startWalk(l: DevLocal): void {
  l.walk = { table: ROOT, lvl: 1, restarts: 0 };
  l.phase = 'dma.walk';
  l.next = step('DMA_WALK', { label: 'L1', ...ACCESS });
}

function walkStep(l: DevLocal, c: StepCtx): void {
  const g = c.cfg;
  const op = l.ops[l.i] as Extract<DevOp, { page: number }>;
  const w = l.walk!;
  const pt = c.pt();
  const t = pt.table(w.table);
  if (t.freed || !t.linked) {
    // A walk into a table that was unlinked: start again from the pgd.
    l.walk = { table: ROOT, lvl: 1, restarts: w.restarts + 1 };
    l.next = step('DMA_WALK', { label: 'L1', ...ACCESS });
    return;
  }
  const idx = lvlIdx(g, op.page, w.lvl);
  const pte = t.entries[idx];
  if (pte.t === 'table' && w.lvl < g.levels) {
    l.walk = { table: pte.next, lvl: w.lvl + 1, restarts: w.restarts };
    l.next = step('DMA_WALK', { label: `L${w.lvl + 1}`, ...ACCESS });
    return;
  }
  if (pte.t !== 'leaf') {
    c.obs('dma-fault', { page: op.page, reason: 'translation' });
    return opDone(l);
  }
  const size = entrySize(g, w.lvl);
  const base = t.base + idx * size;
  const pa = pte.pa + (op.page - base);
  let leaf = pte;
  if (op.op === 'WRITE') {
    if (!pte.dbm && pte.ro) {
      c.obs('dma-fault', { page: op.page, reason: 'permission' });
      return opDone(l);
    }
    if (pte.ro) {
      // HTTU: the atomic RMW that clears AP_RDONLY, in the same step as the walk's read.
      leaf = { ...pte, ro: false };
      pt.write(w.table, idx, leaf);
      c.obs('hw-dirty', { table: w.table, idx, start: base, size, target: 'leaf', blind: false });
    }
  }
  const writable = leaf.dbm || !leaf.ro;
  if (!leaf.nT) {
    const e: TlbEntry = { base, size, lvl: w.lvl, pa: leaf.pa, writable, dirty: leaf.dbm && !leaf.ro, src: { table: w.table, idx }, filledAt: l.fills++ };
    c.tlb().fill(e);
    c.obs('tlb-fill', { base, size, pa: leaf.pa, writable, dirty: e.dirty, src: `${w.table}[${idx}]` });
  }
  c.obs('translate', { page: op.page, pa, writable, via: 'walk' });
  if (op.op === 'WRITE') c.obs('dma-write', { page: op.page, pa, via: leaf.nT ? 'walk-nT' : 'walk', span: [base, base + size], src: `${w.table}[${idx}]` });
  opDone(l);
}
