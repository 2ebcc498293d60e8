/**
 * The seed's block split (smmuv3-split-block-dirty-log.txt, RFC 04/11, never merged; F18), one
 * step per descriptor read, allocation, fill, store or command:
 *
 *   iommu_split_block(domain, iova, size): for pgsize = iommu_pgsize(...) chunks:
 *       split = ops->split_block(iova, pgsize); if (split != pgsize) break;
 *     then iommu_flush_iotlb_all(domain).                                   [flush=end]
 *   arm_smmu_split_block(): no BBML1/2 -> "don't support BBML1/2 and split block", return 0.
 *   __arm_lpae_split_block(iova, size, lvl, ptep): pte = READ_ONCE(*ptep); WARN_ON(!pte) -> 0;
 *       size == block size: leaf: last level or AP_RDONLY -> size; else do_split_blk(lvl + 1).
 *                           table: last table level -> size; else sum over the children.
 *       a leaf bigger than size: WARN "Can't split behind a block" -> 0; a table: descend.
 *   arm_lpae_do_split_blk(): tablep = __arm_lpae_alloc_pages(GFP_ATOMIC) or return 0;
 *       children = iopte_prot(blk_pte) (keeps DBM and AP, F8); BBML1: blk_pte |= nT, a plain
 *       store __arm_lpae_set_pte, io_pgtable_tlb_flush_walk; arm_lpae_install_table(tablep,
 *       ptep, blk_pte) with its result ignored; child level last -> size; else go back to
 *       lvl - 1 and walk the (now) table again: each child block is split the same way.
 *
 * `split=straight` is Robin Murphy's alternative from the review: build the whole subtree down to
 * pages first (one table per node), then swap it in with a single install.
 * `flush=perBlock` invalidates the block's range after each install instead of the final flush_all.
 *
 * Locks: with splitWhen=enable the split runs inside SET_DIRTY_TRACKING(1) on behalf of the VMM,
 * whose locks cover it (vfio mutex, iova_rwsem read). In the background it takes the vfio mutex
 * (splitLock=vfio, the seed's `iommu->lock`) or iova_rwsem read (splitLock=iova-read) itself:
 * named behaviour `takesSplitLock` (split-race-does-not-exist drops it).
 */
import type { EventObject } from 'xstate';
import type { StepCtx, ThreadLocal } from '../machines/thread.ts';
import { IOPT, LOCK_IOVA, LOCK_VFIO, PT, type Pte, TLB, entrySize, lvlIdx, pgsizeFor, pteText, writeableDirty } from '../types.ts';
import { ROOT } from '../state/pgtable.ts';
import { step, tlbiAll, tlbiRange, updateTransitional } from './common.ts';

/** One pending call of __arm_lpae_split_block(iova, size, lvl, table). */
export interface SplitCall {
  iova: number;
  size: number;
  lvl: number;
  table: string;
}

/** The arm_lpae_do_split_blk() in progress. */
export interface DoSplit {
  /** The block's slot. */
  slot: { table: string; idx: number; lvl: number; start: number; size: number };
  /** blk_pte as read by the walk step. */
  blk: Extract<Pte, { t: 'leaf' }>;
  /** Tables of the new subtree, top first (recursive: one; straight: one per node down to pages). */
  plan: { lvl: number; base: number }[];
  tables: string[];
  filled: number;
  /** Set when an allocation of the subtree failed (split-partial-subtree installs anyway). */
  failed: boolean;
}

export interface SplitLocal extends ThreadLocal {
  n: number;
  op: string;
  /** The thread the split runs for (the VMM inside SET(1), or the splitter itself). */
  thread: string;
  reply: string;
  /** Locks it took itself. */
  held: string[];
  areas: { iova: number; pages: number }[];
  ai: number;
  chunks: { iova: number; size: number }[];
  ci: number;
  /** Pages split by the current ops->split_block call. */
  got: number;
  requested: number;
  split: number;
  calls: SplitCall[];
  ds: DoSplit | null;
  /** Installs since the last TLB invalidation that covered them. */
  unflushed: number;
  short: boolean;
}

export const SPLIT_BEHAVIOURS = {
  /** In the background, take the split's lock (vfio mutex or iova_rwsem read). */
  takesSplitLock: true,
  /** A straight split whose subtree allocation fails frees what it allocated and splits nothing. */
  freesSubtreeOnAllocFail: true,
  /** iommu_split_block() flushes the IOTLB even after a short split (the seed: break, then flush_iotlb_all). */
  flushesAfterShortSplit: true,
};

const ACCESS = { reads: [PT, TLB], writes: [PT, TLB] };

export function splitIdle(l: SplitLocal): void {
  l.phase = 'idle';
  l.next = null;
  l.waits = { type: 'SPLIT_REQ', reads: [], writes: [] };
}

export function splitStep(l: SplitLocal, event: EventObject, c: StepCtx): void {
  switch (event.type) {
    case 'SPLIT_REQ': {
      const e = event as EventObject & { thread: string; reply: string };
      l.thread = e.thread;
      l.reply = e.reply;
      l.waits = null;
      l.op = `${l.id}#${l.n++}`;
      l.phase = 'split.begin';
      const background = l.thread === l.id;
      const lock: [string, 'read' | 'write'][] = background && c.beh.takesSplitLock ? [c.cfg.splitLock === 'vfio' ? [LOCK_VFIO, 'write'] : [LOCK_IOVA, 'read']] : [];
      l.next = step('SPLIT_BEGIN', { locks: lock, reads: [IOPT] });
      return;
    }
    case 'SPLIT_BEGIN':
      return begin(l, c);
    case 'SPLIT_WALK':
      return walk(l, c);
    case 'SPLIT_REFUSE':
      return refuse(l, c);
    case 'SPLIT_ALLOC':
      return alloc(l, c);
    case 'SPLIT_FILL':
      return fill(l, c);
    case 'SPLIT_NT':
      return storeNT(l, c);
    case 'SPLIT_FLUSH_WALK':
      return flushWalk(l, c);
    case 'SPLIT_INSTALL':
      return install(l, c);
    case 'SPLIT_TLBI':
      return blockTlbi(l, c);
    case 'SPLIT_FLUSH_ALL':
      return flushAll(l, c);
    case 'SPLIT_END':
      return end(l, c);
    default:
      throw new Error(`${l.id}: no step ${event.type} in phase ${l.phase}`);
  }
}

function stepObs(l: SplitLocal, c: StepCtx, phase: string, iova: number, lvl: number): void {
  c.obs('split-step', { op: l.op, phase, iova, lvl, thread: l.thread });
}

function begin(l: SplitLocal, c: StepCtx): void {
  const background = l.thread === l.id;
  l.held = [];
  if (background && c.beh.takesSplitLock) {
    const lock = c.cfg.splitLock === 'vfio' ? LOCK_VFIO : LOCK_IOVA;
    c.lock(lock, c.cfg.splitLock === 'vfio' ? 'write' : 'read', 'vfio_iommu_split_block');
    l.held = [lock];
  }
  // The areas to split: those whose pages are set now (the seed: each vfio_dma).
  l.areas = c
    .iopt()
    .sorted()
    .filter((a) => a.pagesSet)
    .map((a) => ({ iova: a.iova, pages: a.pages }));
  l.requested = l.areas.reduce((s, a) => s + a.pages, 0);
  l.split = 0;
  l.ai = 0;
  c.obs('op-begin', { op: 'SPLIT', id: l.op, thread: l.thread });
  stepObs(l, c, 'begin', 0, 0);
  startArea(l, c);
}

/** The next iommu_split_block() call (one per area), or the end. */
function startArea(l: SplitLocal, c: StepCtx): void {
  l.calls = [];
  l.ds = null;
  l.short = false;
  if (l.ai >= l.areas.length) {
    l.phase = 'split.end';
    l.next = step('SPLIT_END', { drops: l.held });
    return;
  }
  const a = l.areas[l.ai];
  if (c.cfg.bbml === 0) {
    l.phase = 'split.refuse';
    l.next = step('SPLIT_REFUSE', ACCESS);
    return;
  }
  l.chunks = [];
  for (let at = a.iova; at < a.iova + a.pages; ) {
    const size = pgsizeFor(c.cfg, at, a.iova + a.pages - at, true);
    l.chunks.push({ iova: at, size });
    at += size;
  }
  l.ci = 0;
  startChunk(l, c);
}

/** ops->split_block(iova, pgsize) for the next chunk (arm_lpae_split_block). */
function startChunk(l: SplitLocal, c: StepCtx): void {
  const ch = l.chunks[l.ci];
  l.got = 0;
  if (ch.size === 1) {
    // "If it is smallest granule, then nothing to do".
    l.got = 1;
    return chunkDone(l, c);
  }
  l.calls = [{ iova: ch.iova, size: ch.size, lvl: 1, table: ROOT }];
  toWalk(l);
}

function toWalk(l: SplitLocal): void {
  l.phase = 'split.walk';
  l.next = step('SPLIT_WALK', ACCESS);
}

/** The current chunk's calls are all done: compare, then the next chunk, or end the area. */
function chunkDone(l: SplitLocal, c: StepCtx): void {
  const ch = l.chunks[l.ci];
  l.split += l.got;
  if (l.got !== ch.size) {
    l.short = true;
    return areaDone(l, c);
  }
  l.ci++;
  if (l.ci < l.chunks.length) return startChunk(l, c);
  areaDone(l, c);
}

function areaDone(l: SplitLocal, c: StepCtx): void {
  if (c.cfg.flush === 'end' && (!l.short || c.beh.flushesAfterShortSplit)) {
    l.phase = 'split.flushAll';
    l.next = step('SPLIT_FLUSH_ALL', ACCESS);
    return;
  }
  l.ai++;
  startArea(l, c);
}

/** Continue with the next pending call, or finish the chunk. */
function nextCall(l: SplitLocal, c: StepCtx): void {
  l.ds = null;
  if (l.calls.length) return toWalk(l);
  chunkDone(l, c);
}

function eligible(c: StepCtx, p: Extract<Pte, { t: 'leaf' }>): boolean {
  // The seed: `pte & ARM_LPAE_PTE_AP_RDONLY` -> done; under HTTU that also skips writable-clean blocks.
  return c.cfg.splitGuard === 'seed' ? !p.ro : p.dbm || !p.ro;
}

function walk(l: SplitLocal, c: StepCtx): void {
  const g = c.cfg;
  const pt = c.pt();
  const call = l.calls.pop()!;
  const idx = lvlIdx(g, call.iova, call.lvl);
  const pte = pt.read(call.table, idx);
  c.obs('use', { obj: `table:${call.table}`, by: `${l.op}:__arm_lpae_split_block` });
  stepObs(l, c, 'walk', call.iova, call.lvl);
  const bsize = entrySize(g, call.lvl);
  if (pte.t === 'inv') return nextCall(l, c); // WARN_ON(!pte): 0
  if (call.size === bsize) {
    if (pte.t === 'leaf') {
      if (call.lvl === g.levels || !eligible(c, pte)) {
        l.got += call.size;
        return nextCall(l, c);
      }
      const slotStart = pt.table(call.table).base + idx * bsize;
      const plan: { lvl: number; base: number }[] = [];
      const top = call.lvl + 1;
      if (g.split === 'straight') {
        // Every table of the subtree down to the last level, top first.
        for (let lvl = top; lvl <= g.levels; lvl++) {
          const span = entrySize(g, lvl - 1);
          const n = bsize / span;
          for (let k = 0; k < n; k++) plan.push({ lvl, base: slotStart + k * span });
        }
      } else plan.push({ lvl: top, base: slotStart });
      l.ds = { slot: { table: call.table, idx, lvl: call.lvl, start: slotStart, size: bsize }, blk: pte, plan, tables: [], filled: 0, failed: false };
      l.phase = 'split.alloc';
      l.next = step('SPLIT_ALLOC', ACCESS);
      return;
    }
    if (pte.t === 'table') {
      if (call.lvl === g.levels - 1) {
        l.got += call.size;
        return nextCall(l, c);
      }
      const next = entrySize(g, call.lvl + 1);
      for (let k = g.fanout - 1; k >= 0; k--) l.calls.push({ iova: call.iova + k * next, size: next, lvl: call.lvl + 1, table: pte.next });
      return nextCall(l, c);
    }
  }
  if (pte.t === 'leaf') return nextCall(l, c); // WARN "Can't split behind a block": 0
  l.calls.push({ iova: call.iova, size: call.size, lvl: call.lvl + 1, table: pte.next });
  nextCall(l, c);
}

function refuse(l: SplitLocal, c: StepCtx): void {
  const a = l.areas[l.ai];
  c.obs('split-refused', { op: l.op, reason: "BBML0: arm_smmu_split_block: don't support BBML1/2 and split block" });
  stepObs(l, c, 'refuse', a.iova, 0);
  l.short = true;
  areaDone(l, c);
}

/** __arm_lpae_alloc_pages(GFP_ATOMIC): one table of the new subtree per step. */
function alloc(l: SplitLocal, c: StepCtx): void {
  const ds = l.ds!;
  const pt = c.pt();
  const want = ds.plan[ds.tables.length];
  stepObs(l, c, 'alloc', want.base, want.lvl);
  if (c.fault('fault.split.tableAlloc')) {
    c.obs('table-alloc', { table: '', ok: false, by: 'arm_lpae_do_split_blk', op: l.op, slot: { table: ds.slot.table, idx: ds.slot.idx } });
    if (ds.tables.length === 0 || c.beh.freesSubtreeOnAllocFail) {
      for (const t of ds.tables) {
        pt.free(t);
        c.obs('table-free', { table: t, by: 'arm_lpae_do_split_blk' });
        c.obs('free', { obj: `table:${t}`, by: 'arm_lpae_do_split_blk' });
      }
      // do_split_blk returns 0: this call split nothing.
      return nextCall(l, c);
    }
    // split-partial-subtree: go on with the tables it has.
    ds.failed = true;
    ds.plan = ds.plan.slice(0, ds.tables.length);
    l.phase = 'split.fill';
    l.next = step('SPLIT_FILL', ACCESS);
    return;
  }
  const t = pt.alloc(want.lvl, want.base, `${l.op}:arm_lpae_do_split_blk`);
  ds.tables.push(t);
  c.obs('table-alloc', { table: t, ok: true, by: 'arm_lpae_do_split_blk', op: l.op, slot: { table: ds.slot.table, idx: ds.slot.idx } });
  c.obs('alloc', { obj: `table:${t}`, owner: l.op, by: 'arm_lpae_do_split_blk' });
  if (ds.tables.length < ds.plan.length) return;
  l.phase = 'split.fill';
  l.next = step('SPLIT_FILL', ACCESS);
}

/** Fill one new table: blocks or pages from iopte_prot(blk_pte), or (straight) pointers to the next tables. */
function fill(l: SplitLocal, c: StepCtx): void {
  const g = c.cfg;
  const ds = l.ds!;
  const pt = c.pt();
  const k = ds.filled;
  const t = ds.tables[k];
  const { lvl, base } = ds.plan[k];
  const csz = entrySize(g, lvl);
  stepObs(l, c, 'fill', base, lvl);
  c.obs('use', { obj: `table:${t}`, by: `${l.op}:arm_lpae_do_split_blk` });
  const below = ds.plan.map((p, i) => ({ ...p, id: ds.tables[i] })).filter((p) => p.lvl === lvl + 1);
  for (let i = 0; i < g.fanout; i++) {
    const start = base + i * csz;
    let p: Pte;
    let kind: 'split-fill' | 'table-init' = 'split-fill';
    if (g.split === 'straight' && lvl < g.levels && (below.length || ds.failed)) {
      const child = below.find((b) => b.base === start);
      // split-partial-subtree: a child table that could not be allocated stays an empty entry.
      if (!child) continue;
      p = { t: 'table', next: child.id, ign7: false, ign51: false };
      kind = 'table-init';
      pt.table(child.id).linked = true;
    } else {
      p = { t: 'leaf', pa: ds.blk.pa + (start - ds.slot.start), dbm: ds.blk.dbm, ro: ds.blk.ro, nT: false };
    }
    pt.write(t, i, p);
    c.obs('pte-write', { table: t, idx: i, lvl, start, size: csz, kind, op: l.op, before: '-', after: pteText(p, lvl, g.levels), dirty: writeableDirty(p) });
  }
  ds.filled++;
  if (ds.filled < ds.tables.length) return;
  if (g.bbml === 1) {
    l.phase = 'split.nT';
    l.next = step('SPLIT_NT', ACCESS);
    return;
  }
  l.phase = 'split.install';
  l.next = step('SPLIT_INSTALL', ACCESS);
}

/** BBML1: blk_pte |= nT, written with a plain store of the value read by the walk (F18). */
function storeNT(l: SplitLocal, c: StepCtx): void {
  const ds = l.ds!;
  const s = ds.slot;
  const pt = c.pt();
  const before = pt.read(s.table, s.idx);
  ds.blk = { ...ds.blk, nT: true };
  pt.write(s.table, s.idx, ds.blk);
  stepObs(l, c, 'nT', s.start, s.lvl);
  c.obs('use', { obj: `table:${s.table}`, by: `${l.op}:__arm_lpae_set_pte` });
  c.obs('pte-write', { table: s.table, idx: s.idx, lvl: s.lvl, start: s.start, size: s.size, kind: 'nT', op: l.op, before: pteText(before, s.lvl, c.cfg.levels), after: pteText(ds.blk, s.lvl, c.cfg.levels), dirty: writeableDirty(ds.blk) });
  updateTransitional(c);
  l.phase = 'split.flushWalk';
  l.next = step('SPLIT_FLUSH_WALK', ACCESS);
}

function flushWalk(l: SplitLocal, c: StepCtx): void {
  const s = l.ds!.slot;
  stepObs(l, c, 'flush-walk', s.start, s.lvl);
  tlbiRange(c, s.start, s.start + s.size, l.op);
  updateTransitional(c);
  l.phase = 'split.install';
  l.next = step('SPLIT_INSTALL', ACCESS);
}

/** arm_lpae_install_table(tablep, ptep, blk_pte): cmpxchg; the seed ignores the result. */
function install(l: SplitLocal, c: StepCtx): void {
  const g = c.cfg;
  const ds = l.ds!;
  const s = ds.slot;
  const pt = c.pt();
  const tlbHasOld = c.tlb().entries().some((e) => e.src.table === s.table && e.src.idx === s.idx);
  stepObs(l, c, 'install', s.start, s.lvl);
  c.obs('use', { obj: `table:${s.table}`, by: `${l.op}:arm_lpae_install_table` });
  const r = pt.install(s.table, s.idx, ds.blk, ds.tables[0]);
  c.obs('install-table', { table: s.table, idx: s.idx, lvl: s.lvl, start: s.start, size: s.size, replaced: 'block', ok: r.ok, bbml: g.bbml, oldNT: r.old.t === 'leaf' && r.old.nT, tlbHasOld, newTable: ds.tables[0], op: l.op });
  if (r.ok) l.unflushed++;
  updateTransitional(c);
  if (g.flush === 'perBlock') {
    l.phase = 'split.tlbi';
    l.next = step('SPLIT_TLBI', ACCESS);
    return;
  }
  afterInstall(l, c);
}

function afterInstall(l: SplitLocal, c: StepCtx): void {
  const ds = l.ds!;
  const s = ds.slot;
  const childLvl = s.lvl + 1;
  if (c.cfg.split === 'straight' || childLvl === c.cfg.levels) {
    l.got += s.size;
    return nextCall(l, c);
  }
  // "Go back to lvl - 1": walk the slot again; it is a table now (or still the block, if the install lost).
  l.calls.push({ iova: s.start, size: s.size, lvl: s.lvl, table: s.table });
  nextCall(l, c);
}

function blockTlbi(l: SplitLocal, c: StepCtx): void {
  const s = l.ds!.slot;
  stepObs(l, c, 'tlbi', s.start, s.lvl);
  tlbiRange(c, s.start, s.start + s.size, l.op);
  l.unflushed = 0;
  updateTransitional(c);
  afterInstall(l, c);
}

function flushAll(l: SplitLocal, c: StepCtx): void {
  stepObs(l, c, 'flush-all', l.areas[l.ai]?.iova ?? 0, 0);
  tlbiAll(c, l.op);
  l.unflushed = 0;
  updateTransitional(c);
  l.ai++;
  startArea(l, c);
}

function end(l: SplitLocal, c: StepCtx): void {
  for (const h of [...l.held].reverse()) c.unlock(h, 'vfio_iommu_split_block');
  l.held = [];
  stepObs(l, c, 'end', 0, 0);
  c.obs('split-return', { op: l.op, requested: l.requested, split: l.split });
  c.obs('op-end', { op: 'SPLIT', id: l.op, rc: l.split });
  if (l.reply) c.send(l.reply, 'SPLIT_DONE', { split: l.split, requested: l.requested });
  splitIdle(l);
}
