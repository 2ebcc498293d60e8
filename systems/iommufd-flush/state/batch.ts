/**
 * struct pfn_batch and the interval-tree double span iterator of drivers/iommu/iommufd/pages.c,
 * as plain data the running thread keeps on its stack (the actor's context). The batch arrays are
 * fixed-size and keep stale entries, as in C: an entry past `end` that was never written this use
 * holds what the stack held, modelled as pfn 0 of one page (a page frame the user does not own).
 */

export interface Batch {
  pfns: number[];
  npfns: number[];
  arraySize: number;
  end: number;
  total: number;
}

/** __batch_init(): array_size entries (the kernel's is bounded by TEMP_MEMORY_LIMIT; ours by `cap`). */
export function batchInit(maxPages: number, cap: number): Batch {
  const arraySize = Math.max(1, Math.min(maxPages, cap));
  const b: Batch = { pfns: Array(arraySize).fill(0), npfns: Array(arraySize).fill(1), arraySize, end: 0, total: 0 };
  batchClear(b);
  return b;
}

export function batchClear(b: Batch): void {
  b.total = 0;
  b.end = 0;
  b.pfns[0] = 0;
  b.npfns[0] = 0;
}

/**
 * batch_clear_carry(): keep the last `keep` pfns of the final entry at the front. `keepsEnd`
 * is b7c822fa6b77 ("Set end correctly when doing batch carry"): end = 1; before it, end = 0.
 * A negative keep (the unsigned underflow of a broken caller) is treated as a plain clear.
 */
export function batchClearCarry(b: Batch, keep: number, keepsEnd: boolean): void {
  if (keep <= 0) return batchClear(b);
  const last = b.end - 1;
  b.total = keep;
  b.pfns[0] = b.pfns[Math.max(0, last)] + (b.npfns[Math.max(0, last)] - keep);
  b.npfns[0] = keep;
  b.end = keepsEnd ? 1 : 0;
}

/** batch_skip_carry(). */
export function batchSkipCarry(b: Batch, skip: number): void {
  if (!b.total) return;
  skip = Math.min(b.total, skip);
  b.pfns[0] += skip;
  b.npfns[0] -= skip;
  b.total -= skip;
}

/** batch_add_pfn(): true if added. */
export function batchAddPfn(b: Batch, pfn: number): boolean {
  if (b.end && pfn === b.pfns[b.end - 1] + b.npfns[b.end - 1]) {
    b.npfns[b.end - 1]++;
    b.total++;
    return true;
  }
  if (b.end === b.arraySize) return false;
  b.total++;
  b.pfns[b.end] = pfn;
  b.npfns[b.end] = 1;
  b.end++;
  return true;
}

/** The pfn at position `pos` of the batch (walking entries from 0, as batch_unpin does). */
export function batchPfnAt(b: Batch, pos: number): number | null {
  let cur = 0;
  while (cur < b.arraySize) {
    if (pos < b.npfns[cur]) return b.pfns[cur] + pos;
    pos -= b.npfns[cur];
    cur++;
  }
  return null;
}

/** The batch's pfns in order, entries 0..end-1. */
export function batchPfns(b: Batch): number[] {
  const out: number[] = [];
  for (let cur = 0; cur < b.end; cur++) for (let k = 0; k < b.npfns[cur]; k++) out.push(b.pfns[cur] + k);
  return out;
}

/** One span of interval_tree_double_span_iter: used by itree 1 or 2, or a hole. */
export interface Span {
  used: 0 | 1 | 2;
  start: number;
  last: number;
}

/**
 * interval_tree_for_each_double_span(itree1, itree2, first, last): maximal runs of indexes that
 * itree 1 covers (used 1), else itree 2 covers (used 2), else neither (hole).
 */
export function doubleSpans(itree1: readonly { start: number; last: number }[], itree2: readonly { start: number; last: number }[], first: number, last: number): Span[] {
  const cls = (i: number): 0 | 1 | 2 => (itree1.some((n) => n.start <= i && i <= n.last) ? 1 : itree2.some((n) => n.start <= i && i <= n.last) ? 2 : 0);
  const out: Span[] = [];
  for (let i = first; i <= last; i++) {
    const c = cls(i);
    const prev = out[out.length - 1];
    if (prev && prev.used === c && prev.last === i - 1) prev.last = i;
    else out.push({ used: c, start: i, last: i });
  }
  return out;
}
