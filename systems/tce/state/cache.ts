/**
 * The PHB's TCE cache (the device-side translation cache), on kernel/tlb.ts's TranslationCache.
 *
 * Hardware: no kernel lock. An entry is filled by the device's table walk and stays until an
 * invalidation covering it: iommu_tce_kill() → pnv_pci_ioda2_tce_invalidate() (PHB3 kill register
 * or opal_pci_tce_kill), which is synchronous, or a whole-PE invalidation at unset_window.
 * IODA2 has no it_ops->flush, so iommu_flush_tce() is only mb() and invalidates nothing.
 *
 * `mayHold[e]`: every page entry e pointed at since the last invalidation covering e. The cache
 * may hold any of them whether or not the device filled it yet; that is the set the "no unpin
 * while cached" rule is about (the DMA harm needs `tlb`, what the device really filled).
 */
import { TranslationCache, type TlbState } from '../../../kernel/tlb.ts';
import { Facet } from './facet.ts';
import type { Perm, Tce } from './types.ts';

export interface CachedTce {
  pfn: number;
  perm: Perm;
  table: string;
}

export interface CacheData {
  tlb: TlbState<CachedTce>;
  /** Fill order, oldest first (eviction when full). */
  fifo: number[];
  cap: number;
  mayHold: Record<number, number[]>;
  /** Statistics (not in the hash). */
  kills: number;
  killedEntries: number;
  eehs: number;
  hits: number;
}

export class CacheState extends Facet<CacheData> {
  readonly name = 'tce.cache';
  private tlb: TranslationCache<CachedTce>;

  constructor(cap: number) {
    const tlb = new TranslationCache<CachedTce>();
    super({ tlb: tlb.s, fifo: [], cap, mayHold: {}, kills: 0, killedEntries: 0, eehs: 0, hits: 0 });
    this.tlb = tlb;
  }

  override restore(s: unknown): void {
    super.restore(s);
    this.tlb = new TranslationCache<CachedTce>(this.d.tlb);
  }

  /** A TCE at bus page `entry` changed from `old` to `tce`: both may now be cached until a kill. */
  noteSet(entry: number, old: Tce | null, tce: Tce | null): void {
    const add = (pfn: number) => {
      const l = (this.d.mayHold[entry] ??= []);
      if (!l.includes(pfn)) l.push(pfn);
    };
    if (old) add(old.pfn);
    if (tce) add(tce.pfn);
  }

  /** iommu_tce_kill(tbl, start, n): invalidate bus pages [start, start + n). */
  kill(table: string, start: number, n: number, by: string): void {
    this.tlb.invalidateRange(start, start + n);
    this.d.fifo = this.d.fifo.filter((e) => e < start || e >= start + n);
    for (const k of Object.keys(this.d.mayHold)) if (Number(k) >= start && Number(k) < start + n) delete this.d.mayHold[Number(k)];
    this.d.kills++;
    this.d.killedEntries += n;
    this.emit('kill', { table, start, n, by });
  }

  /** A whole-PE invalidation (pnv_pci_ioda2_tce_invalidate_pe, at unset_window / take_ownership). */
  killAll(table: string, by: string): void {
    this.kill(table, 0, ALL, by);
  }

  lookup(entry: number): CachedTce | undefined {
    const e = this.tlb.lookup(entry);
    if (e) this.d.hits++;
    return e;
  }

  fill(entry: number, e: CachedTce): void {
    if (this.tlb.peek(entry) === undefined) {
      if (this.d.fifo.length >= this.d.cap) this.evict(this.d.fifo[0]);
      this.d.fifo.push(entry);
    }
    this.tlb.fill(entry, e);
  }

  evict(entry: number): void {
    delete this.d.tlb.entries[entry];
    this.d.fifo = this.d.fifo.filter((x) => x !== entry);
  }

  filled(): number[] {
    return this.tlb.pages();
  }

  override canonical(): unknown {
    return { tlb: this.tlb.canonical(), fifo: this.d.fifo, mayHold: this.d.mayHold };
  }

  override view(): unknown {
    return { filled: this.d.tlb.entries, mayHold: this.d.mayHold, kills: this.d.kills, eehs: this.d.eehs };
  }
}

/** "Every entry" for a whole-PE invalidation. */
export const ALL = 1 << 20;
