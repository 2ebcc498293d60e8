/**
 * The `dirty` paths in isolation: the iova_bitmap forms, the table geometry, the walker and the
 * split through hand-written workloads, the split's exact costs, and the workload as data.
 */
import { describe, expect, it } from 'vitest';
import { PagedUserBitmap } from '../../../kernel/bitmap.ts';
import { DataSource } from '../../../core/dataSource.ts';
import { runOnce } from '../../../core/run.ts';
import type { Choice, Strategy } from '../../../core/strategies/strategy.ts';
import { type BitmapPort, bitmapAdvance, bitmapAlloc, bitmapGet, bitmapSetChunked, bitmapSetDynamic, chunkRange } from '../../../systems/dirty/paths/iovaBitmap.ts';
import { type DirtyWorkload, entrySize, lvlIdx, pgsizeFor } from '../../../systems/dirty/types.ts';
import { drawWorkload, layoutAreas } from '../../../systems/dirty/workload.ts';
import { splitCosts } from '../../../bench/dirty.ts';
import { dirtyParams, withWorkload } from './helpers.ts';

function port(buf: PagedUserBitmap, chunkPages = 1, fails: boolean[] = []): BitmapPort & { pins: [number, number, boolean][] } {
  const pins: [number, number, boolean][] = [];
  return { buf, pageBytes: buf.s.pageBytes, chunkPages, gupFails: () => fails.shift() ?? false, pinned: (f, n, ok) => pins.push([f, n, ok]), wrote: () => {}, pins };
}

describe('iova_bitmap', () => {
  it('chunked (v6.8): a block record past the pinned window is carried by set_ahead into the next window', () => {
    const buf = PagedUserBitmap.layout(2, 1, 24); // 2-byte user pages, bitmap one byte into its page
    const p = port(buf);
    const bm = bitmapAlloc(0, 24, 1);
    expect(bitmapGet(bm, p)).toBe(0);
    expect(chunkRange(bm, p)).toEqual([0, 8]); // one pinned byte: 8 pages of IOVA
    expect(bitmapSetChunked(bm, 0, 16, true, p)).toBe(0);
    expect(bm.setAhead).toBe(8);
    expect(bitmapAdvance(bm, p)).toBe(0);
    expect(buf.ones()).toEqual([...Array(16).keys()]);
    expect(chunkRange(bm, p)).toEqual([16, 24]);
    expect(buf.s.outside).toEqual([]);
  });

  it('chunked before 2780025e01e2: the part past the window is dropped', () => {
    const buf = PagedUserBitmap.layout(2, 1, 24);
    const p = port(buf);
    const bm = bitmapAlloc(0, 24, 1);
    bitmapGet(bm, p);
    expect(bitmapSetChunked(bm, 0, 16, false, p)).toBe(8);
    bitmapAdvance(bm, p);
    expect(buf.ones()).toEqual([...Array(8).keys()]);
  });

  it('u64 words (before d18411ec3057): the window rounds up past the pinned byte and the carry never runs', () => {
    const buf = PagedUserBitmap.layout(2, 1, 24);
    const p = port(buf);
    const bm = bitmapAlloc(0, 24, 8);
    bitmapGet(bm, p);
    expect(chunkRange(bm, p)).toEqual([0, 24]); // one u64 word covers the whole range
    for (let page = 0; page < 24; page++) bitmapSetChunked(bm, page, 1, true, p);
    expect(bitmapAdvance(bm, p)).toBe(0);
    expect(buf.ones()).toEqual([...Array(8).keys()]); // pages 8..23 lost
  });

  it('dynamic (v6.11+): a record crossing the window is set by re-pinning at the crossing point', () => {
    const buf = PagedUserBitmap.layout(2, 1, 24);
    const p = port(buf);
    const bm = bitmapAlloc(0, 24, 1);
    expect(bitmapSetDynamic(bm, 0, 16, p)).toEqual({ err: 0, dropped: 0 });
    expect(buf.ones()).toEqual([...Array(16).keys()]);
    expect(bm.pins).toBe(2);
    expect(bm.crossings).toBe(1);
  });

  it('dynamic: a failed re-pin drops the rest of the record and says so', () => {
    const buf = PagedUserBitmap.layout(2, 0, 8);
    const p = port(buf, 1, [false, true]);
    const bm = bitmapAlloc(0, 8, 1);
    expect(bitmapSetDynamic(bm, 0, 8, p)).toEqual({ err: 0, dropped: 0 }); // 2-byte window holds 16 bits
    const bm2 = bitmapAlloc(0, 24, 1);
    const buf2 = PagedUserBitmap.layout(2, 1, 24);
    const p2 = port(buf2, 1, [false, true]);
    expect(bitmapSetDynamic(bm2, 0, 16, p2).err).toBe(-14);
    expect(buf2.ones()).toEqual([...Array(8).keys()]);
    void p;
  });

  it('a bit written outside the bitmap is recorded even when that bit was already set', () => {
    const buf = PagedUserBitmap.layout(2, 1, 3);
    buf.setInPage(1, 8 + 5);
    buf.setInPage(1, 8 + 5);
    expect(buf.s.outside).toEqual([5, 5]);
  });
});

describe('table geometry', () => {
  const g = { levels: 3, fanout: 4 };
  it('entry sizes, indexes and iommu_pgsize', () => {
    expect([1, 2, 3].map((l) => entrySize(g, l))).toEqual([16, 4, 1]);
    expect(lvlIdx(g, 21, 1)).toBe(1);
    expect(lvlIdx(g, 21, 2)).toBe(1);
    expect(lvlIdx(g, 21, 3)).toBe(1);
    expect(pgsizeFor(g, 0, 16, true)).toBe(16);
    expect(pgsizeFor(g, 16, 8, true)).toBe(4);
    expect(pgsizeFor(g, 18, 6, true)).toBe(1);
    expect(pgsizeFor(g, 0, 16, false)).toBe(1);
  });
  it('layouts', () => {
    expect(layoutAreas('blocks', 3, 4)).toEqual([
      { id: 'A0', iova: 0, pages: 16, pa: 64 },
      { id: 'A1', iova: 16, pages: 8, pa: 80 },
      { id: 'A2', iova: 32, pages: 2, pa: 96 },
    ]);
  });
});

/** Always the first enabled step, and no faults: a run as written. */
const inOrder: Strategy = { name: 'in-order', newExecution() {}, choose: (_e: readonly Choice[]) => 0, chooseData: () => 0 };

function runWorkload(w: DirtyWorkload, over: Record<string, string | number | boolean> = {}) {
  const obs: { what: string; [k: string]: unknown }[] = [];
  const r = runOnce({ scenario: withWorkload(w), params: dirtyParams({ faultRate: 0, ...over }), bug: null, seed: 1, strategy: inOrder, maxSteps: 2000, checkFootprints: true, onStep: (rec) => obs.push(...rec.obs) });
  return { r, obs };
}

const blocks = layoutAreas('blocks', 3, 4);
const wl = (vmm: DirtyWorkload['vmm'], dev: DirtyWorkload['dev'], hotplug: DirtyWorkload['hotplug'] = []): DirtyWorkload => ({ areas: blocks, vmm, hotplug, dev, bitmap: { vmm: { offset: 0 }, hotplug: { offset: 0 } } });

describe('the paths through hand-written workloads', () => {
  it('a write to a block is reported as the whole block (upstream block granule); NO_CLEAR leaves it dirty', () => {
    const { r, obs } = runWorkload(
      wl(
        [{ op: 'MAP', area: 'A0' }, { op: 'MAP', area: 'A1' }, { op: 'SET_DIRTY', enable: true }, { op: 'QUIESCE' }, { op: 'GET', range: 'areas', noClear: true }, { op: 'GET', range: 'areas', noClear: false }, { op: 'GET', range: 'areas', noClear: false }],
        [{ op: 'WAIT_TRACKING' }, { op: 'WRITE', page: 17 }],
      ),
    );
    expect(r.violation).toBeNull();
    expect(r.quiescent).toBe(true);
    const gets = obs.filter((o) => o.what === 'get-return').map((o) => o.bits);
    expect(gets).toEqual([[16, 17, 18, 19], [16, 17, 18, 19], []]);
  });

  it('the seed split at enable turns the dirty blocks into pages, so a write reports one page', () => {
    const { r, obs } = runWorkload(
      wl([{ op: 'MAP', area: 'A0' }, { op: 'MAP', area: 'A1' }, { op: 'SET_DIRTY', enable: true }, { op: 'QUIESCE' }, { op: 'GET', range: 'areas', noClear: false }], [{ op: 'WAIT_TRACKING' }, { op: 'WRITE', page: 5 }]),
      { split: 'recursive', bbml: 2 },
    );
    expect(r.violation).toBeNull();
    expect(obs.filter((o) => o.what === 'get-return').map((o) => o.bits)).toEqual([[5]]);
    expect(obs.find((o) => o.what === 'split-return')).toMatchObject({ requested: 24, split: 24 });
  });

  it('BBML0 refuses the split and the report stays block-granular', () => {
    const { obs } = runWorkload(
      wl([{ op: 'MAP', area: 'A0' }, { op: 'SET_DIRTY', enable: true }, { op: 'QUIESCE' }, { op: 'GET', range: 'areas', noClear: false }], [{ op: 'WAIT_TRACKING' }, { op: 'WRITE', page: 5 }]),
      { split: 'recursive', bbml: 0 },
    );
    expect(obs.some((o) => o.what === 'split-refused')).toBe(true);
    expect(obs.filter((o) => o.what === 'get-return').map((o) => o.bits)).toEqual([[...Array(16).keys()]]);
  });

  it('an unmap reads the area first, then frees its tables after flush_walk', () => {
    const { r, obs } = runWorkload(
      wl([{ op: 'MAP', area: 'A1' }, { op: 'SET_DIRTY', enable: true }, { op: 'QUIESCE' }, { op: 'UNMAP', area: 'A1' }], [{ op: 'WAIT_TRACKING' }, { op: 'WRITE', page: 21 }]),
      { split: 'recursive', bbml: 2 },
    );
    expect(r.violation).toBeNull();
    const seq = obs.filter((o) => ['get-return', 'pte-clear', 'table-free', 'area'].includes(o.what)).map((o) => (o.what === 'area' ? `area ${o.event}` : o.what));
    expect(seq.indexOf('get-return')).toBeLessThan(seq.indexOf('pte-clear'));
    expect(seq).toContain('table-free');
    expect(obs.find((o) => o.what === 'get-return')?.bits).toEqual([21]);
  });
});

describe('split costs (bench/dirty.ts, exact)', () => {
  it('matches the design: recursive 7 swaps and 35 PTE writes, straight 3 and 31 (BBML2); BBML1 adds the nT stores', () => {
    const rows = splitCosts();
    const pick = (split: string, bbml: number, flush: string) => rows.find((r) => r.split === split && r.bbml === bbml && r.flush === flush)!;
    expect(pick('recursive', 2, 'end')).toMatchObject({ tableAllocs: 7, installTableSwaps: 7, pteWrites: 35, pagesSplit: 24 });
    expect(pick('straight', 2, 'end')).toMatchObject({ tableAllocs: 7, installTableSwaps: 3, pteWrites: 31, pagesSplit: 24 });
    expect(pick('recursive', 1, 'end')).toMatchObject({ installTableSwaps: 7, pteWrites: 42 });
    expect(pick('straight', 1, 'end')).toMatchObject({ installTableSwaps: 3, pteWrites: 34 });
    expect(pick('recursive', 2, 'perBlock').tlbInvalidations).toBe(7);
    expect(pick('recursive', 0, 'end')).toMatchObject({ tableAllocs: 0, pagesSplit: 0 });
    // Recursive keeps stale block entries in the TLB for longer than straight before the final flush.
    expect(pick('recursive', 2, 'end').transitionalSteps).toBeGreaterThan(pick('straight', 2, 'end').transitionalSteps);
  });
});

describe('the workload is data', () => {
  it('drawWorkload gives JSON that drives the same machines as written by hand', () => {
    const params = dirtyParams({ layout: 'blocks' });
    const w = drawWorkload(params, DataSource.seeded(4));
    const copy = JSON.parse(JSON.stringify(w)) as DirtyWorkload;
    expect(copy).toEqual(w);
    const r = runOnce({ scenario: withWorkload(copy), params: dirtyParams({ faultRate: 0 }), bug: null, seed: 1, strategy: inOrder, maxSteps: 3000 });
    expect(r.error).toBeUndefined();
    expect(r.quiescent).toBe(true);
    expect(r.violation).toBeNull();
  });
});
