/**
 * The SMMU TLB as shared state, on the shared TranslationCache (kernel/tlb.ts): block and page
 * entries with the writable and dirty state the walk found. Hardware: no lock; software only
 * issues invalidation commands (TLBI by range, or all), each one step. Not modelled: walk caches,
 * eviction (an entry stays until invalidated: the worst case for staleness), TTL level hints.
 *
 * `transitional` is derived, kept for the transitionalSteps cost: some page is covered by an
 * entry whose source descriptor no longer holds that leaf (stale), or by an nT block.
 */
import type { SharedState } from '../../../core/model/shared.ts';
import { TranslationCache, type TlbState } from '../../../kernel/tlb.ts';
import { type TlbEntry, tlbSpan } from '../types.ts';

export interface SmmuTlbData {
  cache: TlbState<TlbEntry>;
  transitional: boolean;
}

export class SmmuTlbState implements SharedState {
  readonly name = 'dirty.tlb';
  cache = new TranslationCache<TlbEntry>();
  transitional = false;

  lookup(page: number): [number, TlbEntry] | undefined {
    return this.cache.lookupSpan(page, tlbSpan);
  }

  peek(page: number): [number, TlbEntry] | undefined {
    return this.cache.peekSpan(page, tlbSpan);
  }

  fill(e: TlbEntry): void {
    this.cache.fill(e.base, e);
  }

  /** One TLBI command over [start, end): every overlapping entry goes. Returns the removed entries' bases. */
  invalidate(start: number, end: number): number[] {
    return this.cache.invalidateSpans(start, end, tlbSpan);
  }

  invalidateAll(): number[] {
    const all = this.cache.pages();
    this.cache.invalidateAll();
    return all;
  }

  entries(): TlbEntry[] {
    return this.cache.pages().map((p) => this.cache.peek(p)!);
  }

  snapshot(): unknown {
    return { cache: this.cache.snapshot(), transitional: this.transitional } satisfies SmmuTlbData;
  }

  restore(s: unknown): void {
    const d = s as SmmuTlbData;
    this.cache.restore(d.cache);
    this.transitional = d.transitional;
  }

  /** Entries only: the command and miss counters are statistics. */
  canonical(): unknown {
    return [this.entries(), this.transitional];
  }

  view(): unknown {
    return this.entries().map((e) => ({ base: e.base, size: e.size, pa: e.pa, w: e.writable, dirty: e.dirty, src: `${e.src.table}[${e.src.idx}]` }));
  }
}
