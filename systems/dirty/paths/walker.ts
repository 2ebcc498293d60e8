/**
 * The io-pgtable-arm dirty walk, one io_pgtable_visit() per step (K, F2-F4):
 *   arm_lpae_read_and_clear_dirty -> __arm_lpae_iopte_walk(pgd) -> io_pgtable_visit -> visit_dirty.
 * A walk runs over `pieces`: the ranges read_and_clear_dirty() is called with (one per contiguous
 * area, cut to the request or to the pinned window). The cursor is the walker's recursion as a
 * stack of (table, level, index, table base).
 *
 * visit_dirty (K): `if (!iopte_leaf(*ptep)) return 0; if (iopte_writeable_dirty(*ptep)) {
 * iommu_dirty_bitmap_record(dirty, walk->addr, size); if (!NO_CLEAR) iopte_set_writeable_clean(ptep); }`
 * then io_pgtable_visit does `walk->addr += size` for a leaf, -EINVAL for an invalid descriptor,
 * and descends into a table at LVL_IDX(addr).
 *
 * Named behaviours (guards of the calling machine, substituted by variants):
 *  - visitsTablesAsLeaves: the dirty test also runs on table descriptors (visit-dirty-nonleaf).
 *  - clearsSharedPte: set_bit on the shared descriptor, or on a local copy (visit-dirty-clears-copy).
 *  - advancesUnaligned / recordsUnclamped: today's `addr += size` and record [addr, addr+size) vs the
 *    fixed model's leaf-aligned advance and a record clamped to [piece start, request end) (derived).
 *  - clearsPartialLeaf: clear a leaf the request only partly covers (derived).
 */
import { type Geometry, type Pte, entrySize, lvlIdx, pteText, tableLooksDirty, writeableDirty } from '../types.ts';
import { ROOT } from '../state/pgtable.ts';
import type { StepCtx } from '../machines/thread.ts';

export interface Frame {
  table: string;
  lvl: number;
  idx: number;
  /** IOVA of the table's entry 0. */
  base: number;
}

export interface WalkPiece {
  start: number;
  end: number;
}

export interface Walk {
  op: string;
  pieces: WalkPiece[];
  pi: number;
  started: boolean;
  addr: number;
  stack: Frame[];
  /** The ioctl's whole range: the record clamp and the clear guard use it. */
  getStart: number;
  getEnd: number;
  noClear: boolean;
  /** The first error (-EINVAL on an invalid descriptor, or the bitmap's). */
  err: number;
  /** Leaves visited / records made (for metrics and the inspector). */
  visits: number;
}

export function newWalk(op: string, pieces: WalkPiece[], getStart: number, getEnd: number, noClear: boolean): Walk {
  return { op, pieces, pi: 0, started: false, addr: 0, stack: [], getStart, getEnd, noClear, err: 0, visits: 0 };
}

/** Is the walk over (every piece walked, or stopped by an error)? */
export function walkDone(w: Walk): boolean {
  return w.err !== 0 || w.pi >= w.pieces.length;
}

/** Start pieces and pop finished frames until the top frame has a descriptor to visit (or the walk is over). */
export function settle(w: Walk, g: Geometry): void {
  for (;;) {
    if (w.err || w.pi >= w.pieces.length) return;
    const piece = w.pieces[w.pi];
    if (!w.started) {
      w.started = true;
      w.addr = piece.start;
      w.stack = [{ table: ROOT, lvl: 1, idx: lvlIdx(g, w.addr, 1), base: 0 }];
    }
    while (w.stack.length) {
      const f = w.stack[w.stack.length - 1];
      if (f.idx < g.fanout && w.addr < piece.end) break;
      w.stack.pop();
    }
    if (w.stack.length) return;
    w.pi++;
    w.started = false;
  }
}

/** Where a record goes: the GET's iova_bitmap, or nowhere (SET's clear, bitmap NULL). 0 or an error; `dropped` for a record lost silently. */
export interface RecordSink {
  record(start: number, end: number): { err: number; dropped: number };
}

export interface Gather {
  start: number;
  end: number;
  /** gather->pgsize: never set by iommu_iotlb_gather_add_range (F14). */
  pgsize: number;
}

/** One io_pgtable_visit(). The walk's cursor and `gather` are updated in place. */
export function visitStep(w: Walk, gather: { g: Gather | null }, sink: RecordSink, c: StepCtx): void {
  const g = c.cfg;
  settle(w, g);
  if (walkDone(w)) return;
  const piece = w.pieces[w.pi];
  const f = w.stack[w.stack.length - 1];
  const pt = c.pt();
  const size = entrySize(g, f.lvl);
  const slotStart = f.base + f.idx * size;
  const pte: Pte = pt.read(f.table, f.idx);
  c.obs('use', { obj: `table:${f.table}`, by: `${w.op}:io_pgtable_visit` });
  const leafLike = pte.t === 'leaf' || (pte.t === 'table' && c.beh.visitsTablesAsLeaves);
  const dirty = pte.t === 'leaf' ? writeableDirty(pte) : tableLooksDirty(pte);
  let recorded: [number, number] | null = null;
  let cleared = false;
  let dropped = 0;
  if (leafLike && dirty) {
    const start = c.beh.advancesUnaligned ? w.addr : Math.max(slotStart, piece.start);
    const end = c.beh.recordsUnclamped ? start + size : Math.min(slotStart + size, w.getEnd);
    recorded = [start, end];
    const r = sink.record(start, end);
    dropped = r.dropped;
    // iommu_iotlb_gather_add_range(): start/end only (F14).
    gather.g = gather.g ? { start: Math.min(gather.g.start, start), end: Math.max(gather.g.end, end), pgsize: gather.g.pgsize } : { start, end, pgsize: 0 };
    if (r.err && c.beh.returnsWalkErrors) {
      // Fixed model (derived): a bitmap that cannot take the record stops the walk before the clear.
      w.err = r.err;
    } else if (!(w.noClear && c.beh.honoursNoClear)) {
      const whole = slotStart >= piece.start && slotStart + size <= w.getEnd;
      cleared = whole || c.beh.clearsPartialLeaf;
    }
  }
  // The visit (what was read, recorded and decided), then the clear it makes.
  c.obs('dirty-visit', {
    op: w.op,
    table: f.table,
    idx: f.idx,
    lvl: f.lvl,
    kind: pte.t,
    pte: pteText(pte, f.lvl, g.levels),
    start: slotStart,
    size,
    addr: w.addr,
    tested: leafLike,
    wasDirty: leafLike && dirty,
    recorded,
    cleared,
    dropped,
    noClear: w.noClear,
  });
  if (cleared && c.beh.clearsSharedPte) {
    // iopte_set_writeable_clean(ptep): atomic set_bit(ARM_LPAE_PTE_AP_RDONLY_BIT) on the descriptor.
    const after: Pte = pte.t === 'leaf' ? { ...pte, ro: true } : pte.t === 'table' ? { ...pte, ign7: true } : pte;
    pt.write(f.table, f.idx, after);
    c.obs('pte-write', { table: f.table, idx: f.idx, lvl: f.lvl, start: slotStart, size, kind: 'clear', op: w.op, before: pteText(pte, f.lvl, g.levels), after: pteText(after, f.lvl, g.levels), dirty: false });
  }
  w.visits++;
  if (w.err) return;
  if (pte.t === 'leaf') {
    w.addr = c.beh.advancesUnaligned ? w.addr + size : slotStart + size;
    f.idx++;
  } else if (pte.t === 'table' && f.lvl < g.levels) {
    f.idx++;
    w.stack.push({ table: pte.next, lvl: f.lvl + 1, idx: lvlIdx(g, w.addr, f.lvl + 1), base: slotStart });
  } else {
    // io_pgtable_visit(): not a leaf and not a table.
    w.err = -22;
  }
  settle(w, g);
}

/** The pieces of a request [iova, iova+pages): contiguous areas with pages set, from `iova` on (iopt_for_each_contig_area). */
export function contigPieces(areas: { iova: number; pages: number; pagesSet: boolean }[], iova: number, end: number): { pieces: WalkPiece[]; done: boolean } {
  const pieces: WalkPiece[] = [];
  let at = iova;
  const sorted = [...areas].sort((a, b) => a.iova - b.iova);
  while (at < end) {
    // iopt_area_contig_init/next: the area containing `at`, stopping at a gap or an area whose pages are NULL (F11).
    const a = sorted.find((x) => at >= x.iova && at < x.iova + x.pages);
    if (!a || !a.pagesSet) break;
    const e = Math.min(end, a.iova + a.pages);
    pieces.push({ start: at, end: e });
    at = e;
  }
  return { pieces, done: at >= end };
}
