/**
 * struct iova_bitmap (drivers/iommu/iommufd/iova_bitmap.c): a zero-copy view of the user's dirty
 * bitmap, pinned a window at a time. Two kernel forms:
 *  - `chunked` (v6.7-v6.10, T@00fa1a89, F16): iova_bitmap_for_each() calls the walker once per
 *    pinned window; a record that runs past the window is carried in `set_ahead_length` and set by
 *    iova_bitmap_advance() (2780025e01e2). Before that commit the bits past the window were dropped.
 *  - `dynamic` (v6.11+, K, F17): for_each calls the walker once over the whole range and
 *    iova_bitmap_set() re-pins on demand (iova_bitmap_advance_to()); a pin failure there returns
 *    silently, so the bits are dropped with no error.
 * `unit` is the size of one bitmap index: 1 (u8 array, d18411ec3057) or 8 (u64 before it).
 * pgshift is 0: one model page per bit. The state lives in the GET thread's context (the kernel
 * keeps it on the ioctl's stack); the user memory it writes is the thread's PagedUserBitmap.
 */
import type { PagedUserBitmap } from '../../../kernel/bitmap.ts';

export interface MappedWindow {
  /** IOVA of bit 0 of the first pinned page's pgoff byte. */
  iova: number;
  length: number;
  pgoff: number;
  npages: number;
  /** First pinned page of the user region. */
  firstPage: number;
}

export interface IovaBitmap {
  /** The request: bit 0 is `iova`. */
  iova: number;
  length: number;
  unit: 1 | 8;
  baseIdx: number;
  totalIdx: number;
  mapped: MappedWindow | null;
  setAhead: number;
  /** Pins made (bitmap-pin observations), records that ran past their window. */
  pins: number;
  crossings: number;
}

/** What the bitmap reaches outside itself: the user buffer, pinning (with its fault draw), observations. */
export interface BitmapPort {
  buf: PagedUserBitmap;
  pageBytes: number;
  chunkPages: number;
  /** pin_user_pages_fast() fails by injection. */
  gupFails(): boolean;
  pinned(firstPage: number, npages: number, ok: boolean): void;
  /** Bits [bit, bit+n) relative to the bitmap's bit 0 were written (through page `page`). */
  wrote(bit: number, n: number): void;
}

const bitsPerIdx = (bm: IovaBitmap) => 8 * bm.unit;

/** iova_bitmap_offset_to_index(). */
export function offsetToIndex(bm: IovaBitmap, off: number): number {
  return Math.floor(off / bitsPerIdx(bm));
}

/** iova_bitmap_alloc(): mapped_total_index = offset_to_index(length - 1) + 1. */
export function bitmapAlloc(iova: number, length: number, unit: 1 | 8): IovaBitmap {
  const bm: IovaBitmap = { iova, length, unit, baseIdx: 0, totalIdx: 0, mapped: null, setAhead: 0, pins: 0, crossings: 0 };
  bm.totalIdx = offsetToIndex(bm, length - 1) + 1;
  return bm;
}

export function bitmapDone(bm: IovaBitmap): boolean {
  return bm.baseIdx >= bm.totalIdx;
}

/** iova_bitmap_mapped_iova(). */
function mappedIova(bm: IovaBitmap): number {
  return bm.iova + bm.baseIdx * bitsPerIdx(bm);
}

/**
 * iova_bitmap_mapped_length(). With nothing pinned (npages 0 after a put) the kernel's
 * `npages << PAGE_SHIFT - pgoff` wraps to a huge number: the remaining indexes are not capped.
 */
export function mappedLength(bm: IovaBitmap, p: BitmapPort): number {
  const m = bm.mapped;
  const bytes = m && m.npages > 0 ? m.npages * p.pageBytes - m.pgoff : Number.MAX_SAFE_INTEGER;
  const remainingIdx = Math.min(bm.totalIdx - bm.baseIdx, Math.ceil(bytes / bm.unit));
  let rem = remainingIdx * bitsPerIdx(bm);
  const max = bm.iova + bm.length - 1;
  const iova = mappedIova(bm);
  if (iova + rem - 1 > max) rem -= iova + rem - 1 - max;
  return rem;
}

/** iova_bitmap_get(): pin the window starting at the user address of index `baseIdx`. 0 or -EFAULT. */
export function bitmapGet(bm: IovaBitmap, p: BitmapPort): number {
  const addr = p.buf.s.start + bm.baseIdx * bm.unit;
  const pgoff = addr % p.pageBytes;
  const first = Math.floor(addr / p.pageBytes);
  let npages = Math.ceil(((bm.totalIdx - bm.baseIdx) * bm.unit) / p.pageBytes);
  npages = Math.min(npages + (pgoff ? 1 : 0), p.chunkPages);
  bm.pins++;
  // pin_user_pages_fast() pins what is mapped from `addr` on: the region ends one page past the bitmap.
  const ret = p.gupFails() ? 0 : Math.max(0, Math.min(npages, p.buf.pages - first));
  p.pinned(first, ret, ret > 0);
  if (ret <= 0) {
    bm.mapped = null;
    return -14;
  }
  bm.mapped = { iova: mappedIova(bm), length: 0, pgoff, npages: ret, firstPage: first };
  bm.mapped.length = mappedLength(bm, p);
  return 0;
}

/** iova_bitmap_put(): unpin (npages = 0; iova, pgoff and length keep their values). */
export function bitmapPut(bm: IovaBitmap): void {
  if (bm.mapped) bm.mapped.npages = 0;
}

/** iova_bitmap_mapped_range() (6.11+). */
function mappedRange(m: MappedWindow | null, iova: number, length: number): boolean {
  return m !== null && m.npages > 0 && iova >= m.iova && iova + length - 1 <= m.iova + m.length - 1;
}

/** iova_bitmap_advance_to() (6.11+): re-pin at the index of `iova`. 0, -EINVAL (past the end) or -EFAULT. */
function advanceTo(bm: IovaBitmap, iova: number, p: BitmapPort): number {
  const index = offsetToIndex(bm, iova - bm.iova);
  if (index >= bm.totalIdx) return -22;
  bm.baseIdx = index;
  bitmapPut(bm);
  return bitmapGet(bm, p);
}

/** Set bits [cur, last] counted from the pinned window's first page; stop at the window's end. Returns the first bit not set. */
function setInWindow(m: MappedWindow, cur: number, last: number, p: BitmapPort): number {
  const perPage = p.pageBytes * 8;
  while (cur <= last) {
    const pageIdx = Math.floor(cur / perPage);
    const off = cur % perPage;
    const n = Math.min(perPage - off, last - cur + 1);
    if (pageIdx > m.npages - 1) return cur;
    let rel = 0;
    for (let b = 0; b < n; b++) {
      const r = p.buf.setInPage(m.firstPage + pageIdx, off + b);
      if (b === 0) rel = r;
    }
    p.wrote(rel, n);
    cur += n;
  }
  return cur;
}

/**
 * iova_bitmap_set(bitmap, iova, length), chunked form (T): bits past the pinned window are carried
 * in set_ahead_length (`carries`, 2780025e01e2) or dropped (before it). Returns the pages dropped.
 */
export function bitmapSetChunked(bm: IovaBitmap, iova: number, length: number, carries: boolean, p: BitmapPort): number {
  const m = bm.mapped!;
  const cur = iova - m.iova + m.pgoff * 8;
  const last = iova + length - 1 - m.iova + m.pgoff * 8;
  const stop = setInWindow(m, cur, last, p);
  if (stop <= last) {
    bm.crossings++;
    if (carries) bm.setAhead = last - stop + 1;
    else return last - stop + 1;
  }
  return 0;
}

/**
 * iova_bitmap_set(), dynamic form (K): re-pin when the record is not inside the window, and again
 * where it crosses the window's end. A failed re-pin ends the call: 0, or the error (-EFAULT,
 * -EINVAL) and the pages not set (the kernel function is void and drops them silently).
 */
export function bitmapSetDynamic(bm: IovaBitmap, iova: number, length: number, p: BitmapPort): { err: number; dropped: number } {
  for (let round = 0; ; round++) {
    if (!mappedRange(bm.mapped, iova, length)) {
      const err = advanceTo(bm, iova, p);
      if (err) return { err, dropped: length };
    }
    const m = bm.mapped!;
    const cur = iova - m.iova + m.pgoff * 8;
    const last = iova + length - 1 - m.iova + m.pgoff * 8;
    const stop = setInWindow(m, cur, last, p);
    if (stop > last) return { err: 0, dropped: 0 };
    const left = last - stop + 1;
    bm.crossings++;
    iova += length - left;
    length = left;
    if (round > 64) throw new Error('iova_bitmap_set: no progress');
    // The record continues past the window: force a re-pin at the crossing point (goto update_indexes).
    bitmapPut(bm);
  }
}

/**
 * iova_bitmap_advance() (chunked form): step past the window, put it, apply a carried record
 * (iova_bitmap_set_ahead: pin, set, step the index, put, as often as needed), then pin the next
 * window unless done. 0 or the first pin error.
 */
export function bitmapAdvance(bm: IovaBitmap, p: BitmapPort): number {
  const count = offsetToIndex(bm, mappedLength(bm, p) - 1) + 1;
  bm.baseIdx += count;
  bitmapPut(bm);
  if (bm.setAhead) {
    let left = bm.setAhead;
    let ret = 0;
    while (left > 0 && !bitmapDone(bm)) {
      let length = mappedLength(bm, p);
      const iova = mappedIova(bm);
      ret = bitmapGet(bm, p);
      if (ret) break;
      length = Math.min(length, left);
      bitmapSetChunked(bm, iova, length, true, p);
      left -= length;
      bm.baseIdx += offsetToIndex(bm, length - 1) + 1;
      bitmapPut(bm);
    }
    bm.setAhead = 0;
    if (ret) return ret;
  }
  if (bitmapDone(bm)) return 0;
  return bitmapGet(bm, p);
}

/** The window the walker runs over next (chunked): [mapped iova, + mapped length). */
export function chunkRange(bm: IovaBitmap, p: BitmapPort): [number, number] {
  const start = mappedIova(bm);
  return [start, start + mappedLength(bm, p)];
}
