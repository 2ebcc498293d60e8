/**
 * CPU caches over memory, written once for every system whose devices may access memory without
 * snooping the CPU caches (non-coherent DMA: iommufd/VFIO domains that do not enforce cache
 * coherency, i.e. IOMMU_CAP_ENFORCE_CACHE_COHERENCY / snoop control off).
 *
 * One cache line per page frame (the model works in pages: a sub-page flush is out of scope).
 * Memory and lines carry small version numbers ("the data"): a larger version is newer data.
 *   - CPU write: the line becomes dirty with a new version (`since` = the cache tick).
 *   - CPU read: returns the line, or fills a clean line from memory.
 *   - flush (x86 CLFLUSHOPT per line, as arch_clean_nonsnoop_dma() in the seed's 3/5): a dirty
 *     line is written back, then the line is invalidated.
 *   - non-snooped device read: sees memory, whatever the line holds.
 *   - non-snooped device write: goes to memory; a line is left as it was, now stale.
 *   - snooped (coherent) read: the line if present, else memory; snooped write: memory, and the
 *     line is invalidated.
 * At start a page holds the previous owner's data in memory (version 0) and, when `dirty`, the
 * host's initialisation (version 1, e.g. the zeroing done at allocation) only in a dirty line:
 * `OWNER_BASE` is the first version of the current owner, so a read returning less is a leak.
 *
 * Locking: none. This is hardware; callers hold whatever their own path documents. Every access
 * advances `tick`, a logical clock the monitors use to order events on the cache (it is not the
 * scheduler's step index, which shared state does not see). Observations: `cpu`, `flush`, `dma`,
 * each with the caller's `tag` fields merged in.
 */
import type { SharedPort, SharedState } from '../core/model/shared.ts';

/** The first data version written by the page's current owner (the host's initialisation). */
export const OWNER_BASE = 1;

export interface CacheLine {
  dirty: boolean;
  /** Version of the data the line holds. */
  v: number;
  /** Tick the line was filled or last written. */
  since: number;
}

export interface PageCell {
  mem: number;
  line: CacheLine | null;
}

export interface CpuCacheState {
  pages: Record<number, PageCell>;
  /** Last data version handed out. */
  ver: number;
  /** Logical clock: advanced by every access. */
  tick: number;
  /** Flushes done (cost). */
  flushes: number;
}

export type Tag = Record<string, unknown>;

export interface CacheObservations {
  cpu: { kind: 'read' | 'write'; pfn: number; v: number; tick: number };
  flush: { pfn: number; wasDirty: boolean; tick: number };
  dma: { kind: 'read' | 'write'; pfn: number; snoop: boolean; ret: number; mem: number; line: CacheLine | null; tick: number };
}

export class CpuCache implements SharedState {
  s: CpuCacheState;
  private port: SharedPort | null = null;

  /** `init`: each page frame and whether it starts with a dirty line over older memory. */
  constructor(
    readonly name: string,
    init: { pfn: number; dirty: boolean }[],
  ) {
    const pages: Record<number, PageCell> = {};
    for (const { pfn, dirty } of init) {
      pages[pfn] = dirty ? { mem: OWNER_BASE - 1, line: { dirty: true, v: OWNER_BASE, since: -1 } } : { mem: OWNER_BASE, line: null };
    }
    this.s = { pages, ver: OWNER_BASE, tick: 0, flushes: 0 };
  }

  connect(port: SharedPort): void {
    this.port = port;
  }

  now(): number {
    return this.s.tick;
  }

  /** Advance the clock for an event that is ordered against cache accesses (a map, an unmap). */
  advance(): number {
    return ++this.s.tick;
  }

  line(pfn: number): CacheLine | null {
    const c = this.s.pages[pfn];
    return c?.line ? { ...c.line } : null;
  }

  /** Whether the model has this page frame (a stale batch entry may name one it has not). */
  has(pfn: number): boolean {
    return pfn in this.s.pages;
  }

  mem(pfn: number): number {
    return this.cell(pfn).mem;
  }

  cpuWrite(pfn: number, tag: Tag = {}): number {
    const c = this.cell(pfn);
    const tick = ++this.s.tick;
    const v = ++this.s.ver;
    c.line = { dirty: true, v, since: tick };
    this.port?.observe({ what: 'cpu', kind: 'write', pfn, v, tick, ...tag });
    return v;
  }

  cpuRead(pfn: number, tag: Tag = {}): number {
    const c = this.cell(pfn);
    const tick = ++this.s.tick;
    if (!c.line) c.line = { dirty: false, v: c.mem, since: tick };
    this.port?.observe({ what: 'cpu', kind: 'read', pfn, v: c.line.v, tick, ...tag });
    return c.line.v;
  }

  /** Write back (if dirty) and invalidate the line. */
  flush(pfn: number, tag: Tag = {}): void {
    const c = this.cell(pfn);
    const tick = ++this.s.tick;
    const wasDirty = Boolean(c.line?.dirty);
    if (c.line?.dirty) c.mem = c.line.v;
    c.line = null;
    this.s.flushes++;
    this.port?.observe({ what: 'flush', pfn, wasDirty, tick, ...tag });
  }

  dmaRead(pfn: number, snoop: boolean, tag: Tag = {}): number {
    const c = this.cell(pfn);
    const tick = ++this.s.tick;
    const ret = snoop && c.line ? c.line.v : c.mem;
    this.port?.observe({ what: 'dma', kind: 'read', pfn, snoop, ret, mem: c.mem, line: c.line ? { ...c.line } : null, tick, ...tag });
    return ret;
  }

  dmaWrite(pfn: number, snoop: boolean, tag: Tag = {}): number {
    const c = this.cell(pfn);
    const tick = ++this.s.tick;
    c.mem = ++this.s.ver;
    if (snoop) c.line = null;
    this.port?.observe({ what: 'dma', kind: 'write', pfn, snoop, ret: c.mem, mem: c.mem, line: c.line ? { ...c.line } : null, tick, ...tag });
    return c.mem;
  }

  /** Per page: clean, dirty, stale (a clean line older than memory), or uncached. */
  stateOf(pfn: number): 'uncached' | 'clean' | 'dirty' | 'stale' {
    const c = this.cell(pfn);
    if (!c.line) return 'uncached';
    if (c.line.dirty) return 'dirty';
    return c.line.v === c.mem ? 'clean' : 'stale';
  }

  snapshot(): CpuCacheState {
    return structuredClone(this.s);
  }

  restore(s: unknown): void {
    this.s = structuredClone(s as CpuCacheState);
  }

  /** Memory and lines; the clock and the flush count are left out. */
  canonical(): unknown {
    return { pages: this.s.pages, ver: this.s.ver };
  }

  view(): unknown {
    const out: Record<number, unknown> = {};
    for (const [pfn, c] of Object.entries(this.s.pages)) out[Number(pfn)] = { mem: c.mem, line: c.line, state: this.stateOf(Number(pfn)) };
    return { tick: this.s.tick, flushes: this.s.flushes, pages: out };
  }

  private cell(pfn: number): PageCell {
    const c = this.s.pages[pfn];
    if (!c) throw new Error(`cpu cache: no page frame ${pfn}`);
    return c;
  }
}
