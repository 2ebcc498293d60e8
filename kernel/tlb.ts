/**
 * A device-side translation cache, written once for the SMMU TLB (io-pgtable dirty tracking), the
 * TCE cache (SPAPR) and any IOTLB: entries keyed by page index, each caching what the walk found
 * (the target frame and permission bits, e.g. writable and dirty state), invalidated by range or
 * all, with an IOTLB gather that collects ranges and one sync that invalidates them.
 *
 * Locking: none in the kernel for the cache itself (hardware); invalidation is ordered by the
 * command queue. A system calls `invalidate*` at the step where its kernel path issues the
 * TLBI / tce_kill / iotlb_sync, and counts it.
 */

export interface TlbState<E> {
  /** page -> cached entry */
  entries: Record<number, E>;
  /** IOTLB gather: [start, end) page ranges collected but not yet synced. */
  gather: [number, number][];
  /** Invalidation commands issued (costs). */
  invalidations: number;
  /** Lookups that missed (costs). */
  misses: number;
}

export class TranslationCache<E> {
  constructor(public s: TlbState<E> = { entries: {}, gather: [], invalidations: 0, misses: 0 }) {}

  lookup(page: number): E | undefined {
    const e = this.s.entries[page];
    if (e === undefined) this.s.misses++;
    return e;
  }

  /** Peek without counting a miss (monitors, inspector). */
  peek(page: number): E | undefined {
    return this.s.entries[page];
  }

  fill(page: number, e: E): void {
    this.s.entries[page] = e;
  }

  /** Invalidate [start, end) pages now (one command). */
  invalidateRange(start: number, end: number): void {
    for (const p of Object.keys(this.s.entries)) if (Number(p) >= start && Number(p) < end) delete this.s.entries[Number(p)];
    this.s.invalidations++;
  }

  invalidateAll(): void {
    this.s.entries = {};
    this.s.invalidations++;
  }

  /** iommu_iotlb_gather_add_range. */
  gatherAdd(start: number, end: number): void {
    this.s.gather.push([start, end]);
  }

  /** iommu_iotlb_sync: invalidate every gathered range (one command when there is any), empty the gather. */
  sync(): void {
    if (this.s.gather.length === 0) return;
    for (const [a, b] of this.s.gather) for (const p of Object.keys(this.s.entries)) if (Number(p) >= a && Number(p) < b) delete this.s.entries[Number(p)];
    this.s.gather = [];
    this.s.invalidations++;
  }

  /**
   * Entries that cover a span of pages (an SMMU block entry caches a whole 2M/1G leaf), stored once
   * under their first page. `spanOf` gives an entry's [start, end) pages. The entry covering `page`,
   * with the page it is stored under; a miss is counted.
   */
  lookupSpan(page: number, spanOf: (e: E) => [number, number]): [number, E] | undefined {
    const hit = this.peekSpan(page, spanOf);
    if (hit === undefined) this.s.misses++;
    return hit;
  }

  /** The entry covering `page` (span entries), without counting a miss. */
  peekSpan(page: number, spanOf: (e: E) => [number, number]): [number, E] | undefined {
    for (const k of this.pages()) {
      const e = this.s.entries[k];
      const [a, b] = spanOf(e);
      if (page >= a && page < b) return [k, e];
    }
    return undefined;
  }

  /**
   * One invalidation command over [start, end) pages that removes every span entry overlapping
   * the range, of any size (a range TLBI without a level hint). Returns the keys removed.
   */
  invalidateSpans(start: number, end: number, spanOf: (e: E) => [number, number]): number[] {
    const removed: number[] = [];
    for (const k of this.pages()) {
      const [a, b] = spanOf(this.s.entries[k]);
      if (a < end && b > start) {
        delete this.s.entries[k];
        removed.push(k);
      }
    }
    this.s.invalidations++;
    return removed;
  }

  /** Hardware drops one entry by itself (no command, not counted). */
  evict(page: number): void {
    delete this.s.entries[page];
  }

  /** Cached pages, sorted. */
  pages(): number[] {
    return Object.keys(this.s.entries)
      .map(Number)
      .sort((a, b) => a - b);
  }

  snapshot(): TlbState<E> {
    return structuredClone(this.s);
  }

  restore(s: TlbState<E>): void {
    this.s = structuredClone(s);
  }

  canonical(): unknown {
    return { entries: this.pages().map((p) => [p, this.s.entries[p]]), gather: this.s.gather };
  }
}
