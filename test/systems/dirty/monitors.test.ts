/**
 * Each `dirty` monitor is fed a hand-built trace that breaks it (it must fail and name the values)
 * and a matching good trace (it must stay quiet).
 */
import { describe, expect, it } from 'vitest';
import type { LockEvent } from '../../../core/model/locks.ts';
import type { ActorObservation, Monitor, QuiescenceView, StepRecord } from '../../../core/model/monitor.ts';
import { lockdep } from '../../../kernel/lockdep.ts';
import { noUseAfterFree } from '../../../systems/iopf/specs/noUseAfterFree.ts';
import {
  allocFailSafe,
  atomicTranslation,
  bitmapEdges,
  boundedOverReport,
  cleanStart,
  clearIdempotent,
  noClearPure,
  noLostWrite,
  readerExclusion,
  serialized,
  terminates,
  tlbAfterClear,
  walkerLeafOnly,
} from '../../../systems/dirty/specs/index.ts';

type O = Record<string, unknown> & { what: string };

let seq = 0;
const o = (what: string, fields: Record<string, unknown> = {}, actor = 'vmm'): ActorObservation => ({ what, actor, seq: seq++, ...fields });
const lk = (op: 'acquire' | 'release', lock: string, by: string, mode: 'read' | 'write' = 'write'): LockEvent => ({ op, lock, kind: 'rwsem', mode, by, path: 'test', seq: seq++ });
const step = (i: number, obs: ActorObservation[], locks: LockEvent[] = [], actor = 'vmm'): StepRecord => ({
  i,
  t: i,
  step: 'x',
  actor,
  event: { type: 'X' },
  before: 's',
  after: 's',
  delivered: null,
  sent: [],
  obs,
  locks,
});

/** Feed steps built from lists of observations (step i = index). */
function feed(m: Monitor, steps: (ActorObservation[] | StepRecord)[], params: Record<string, string | number | boolean> = {}, q?: QuiescenceView) {
  const inst = m.create(params);
  for (const [i, s] of steps.entries()) {
    const v = inst.onStep?.(Array.isArray(s) ? step(i, s) : s);
    if (v) return v;
  }
  return q && inst.atQuiescence ? inst.atQuiescence(q) : null;
}

const quiet = (actors: QuiescenceView['actors'] = {}): QuiescenceView => ({ step: 99, actors, undelivered: [] });
const publish = (area: string, iova: number, pages: number, pa = 100) => o('area', { area, event: 'publish', iova, pages, pa });
const getBegin = (id: string, iova: number, pages: number, noClear = false, actor = 'vmm') => o('op-begin', { op: 'GET', id, iova, pages, noClear }, actor);
const getReturn = (id: string, iova: number, pages: number, bits: number[], extra: O | Record<string, unknown> = {}, actor = 'vmm') =>
  o('get-return', { op: id, rc: 0, iova, pages, noClear: false, bits, records: [], pins: 1, crossings: 0, windows: 1, outside: [], nbits: pages, cause: '', ...extra }, actor);
const write = (page: number, span: [number, number] = [page, page + 1]) => o('dma-write', { page, pa: 100 + page, via: 'walk', span, src: 'T0[0]' }, 'dev');
const visit = (op: string, start: number, size: number, extra: Record<string, unknown> = {}) =>
  o('dirty-visit', { op, table: 'T0', idx: 0, lvl: 2, kind: 'leaf', pte: 'B pa100 D', start, size, addr: start, tested: true, wasDirty: true, recorded: null, cleared: false, dropped: 0, noClear: false, ...extra });

describe('dirty-no-lost-write', () => {
  const start = () => [[o('tracking', { on: true })], [publish('A0', 0, 4)], [write(2)]];
  it('fails when a GET that began after a write returns without its bit (F1)', () => {
    const v = feed(noLostWrite, [...start(), [getBegin('vmm#1', 0, 4)], [getReturn('vmm#1', 0, 4, [])]]);
    expect(v?.message).toMatch(/dirty page lost: page 2 written at step 2 .* is not set in vmm#1 \[0,4\)/);
  });
  it('is quiet when the GET reports it, or a concurrent GET over it does', () => {
    expect(feed(noLostWrite, [...start(), [getBegin('vmm#1', 0, 4)], [getReturn('vmm#1', 0, 4, [2])]])).toBeNull();
    const concurrent = [...start(), [getBegin('vmm#1', 0, 4)], [getBegin('hotplug#0', 0, 4, false, 'hotplug')], [getReturn('vmm#1', 0, 4, [])], [getReturn('hotplug#0', 0, 4, [2], {}, 'hotplug')]];
    expect(feed(noLostWrite, concurrent)).toBeNull();
  });
  it('fails once the concurrent GETs over the page have returned without it', () => {
    const v = feed(noLostWrite, [...start(), [getBegin('vmm#1', 0, 4)], [getBegin('hotplug#0', 0, 4, false, 'hotplug')], [getReturn('vmm#1', 0, 4, [])], [getReturn('hotplug#0', 0, 4, [], {}, 'hotplug')]]);
    expect(v?.message).toMatch(/page 2 written at step 2/);
  });
  it('fails when an unmap clears a page with an owed write (F2), not after revoke-time writes', () => {
    const unmap = [[o('revoke', { area: 'A0', iova: 0, pages: 4 })], [o('op-begin', { op: 'UNMAP', id: 'vmm#2', iova: 0, pages: 4 })], [o('pte-clear', { table: 'T0', idx: 0, lvl: 2, start: 0, size: 4, kind: 'leaf', op: 'vmm#2', dirtyPages: [0, 1, 2, 3] })]];
    expect(feed(noLostWrite, [...start(), ...unmap])?.message).toMatch(/dropped by unmap: vmm#2 clears leaf \[0,4\).* page 2, written at step 2/);
    expect(feed(noLostWrite, [[o('tracking', { on: true })], [publish('A0', 0, 4)], unmap[0], [write(2)], ...unmap.slice(1)])).toBeNull();
  });
  it('is disarmed by a migration abort', () => {
    expect(feed(noLostWrite, [...start(), [o('migration-abort', { reason: 'x' })], [getBegin('vmm#1', 0, 4)], [getReturn('vmm#1', 0, 4, [])]])).toBeNull();
  });
});

describe('dirty-clean-start', () => {
  it('fails when a GET after SET(1) reports an undirtied page of a pre-existing area', () => {
    const v = feed(cleanStart, [[publish('A0', 0, 4)], [o('op-begin', { op: 'SET', id: 'vmm#1', enable: true })], [getReturn('vmm#2', 0, 4, [1])]]);
    expect(v?.message).toMatch(/vmm#2 reports pages 1 dirty/);
  });
  it('is quiet when a write dirtied the leaf since', () => {
    expect(feed(cleanStart, [[publish('A0', 0, 4)], [o('op-begin', { op: 'SET', id: 'vmm#1', enable: true })], [write(3, [0, 4])], [getReturn('vmm#2', 0, 4, [1])]])).toBeNull();
  });
});

describe('dirty-no-clear-pure', () => {
  it('fails on a descriptor write by a NO_CLEAR GET', () => {
    const v = feed(noClearPure, [[getBegin('vmm#1', 0, 4, true)], [o('pte-write', { table: 'T1', idx: 2, lvl: 2, start: 8, size: 4, kind: 'clear', op: 'vmm#1', before: 'B pa8 D', after: 'B pa8 C', dirty: false })]]);
    expect(v?.message).toMatch(/vmm#1 is a GET_DIRTY_BITMAP with IOMMU_DIRTY_NO_CLEAR but it made a descriptor write clear at T1\[2\]/);
  });
  it('fails when two NO_CLEAR reads with nothing between them differ, not when a write came between', () => {
    const nc = (id: string, bits: number[]) => [[getBegin(id, 0, 4, true)], [getReturn(id, 0, 4, bits, { noClear: true })]];
    expect(feed(noClearPure, [...nc('vmm#1', [0, 1]), ...nc('vmm#2', [0])])?.message).toMatch(/vmm#1 set \[0,1\], vmm#2 set \[0\]/);
    expect(feed(noClearPure, [...nc('vmm#1', [0]), [write(1)], ...nc('vmm#2', [0, 1])])).toBeNull();
  });
});

describe('dirty-clear-idempotent', () => {
  const first = [[getBegin('vmm#1', 0, 4)], [visit('vmm#1', 0, 4, { recorded: [0, 4], cleared: true })], [getReturn('vmm#1', 0, 4, [0, 1, 2, 3])]];
  it('fails when a second clearing GET reports what the first cleared with nothing between', () => {
    expect(feed(clearIdempotent, [...first, [getBegin('vmm#2', 0, 4)], [getReturn('vmm#2', 0, 4, [1])]])?.message).toMatch(/vmm#2 .* reports pages 1 that vmm#1/);
  });
  it('is quiet after a DMA write between them', () => {
    expect(feed(clearIdempotent, [...first, [write(1)], [getBegin('vmm#2', 0, 4)], [getReturn('vmm#2', 0, 4, [1])]])).toBeNull();
  });
});

describe('dirty-bounded-over-report', () => {
  it('fails on a record wider than its leaf', () => {
    const v = feed(boundedOverReport, [[write(1, [0, 4])], [getBegin('vmm#1', 0, 8)], [visit('vmm#1', 0, 4, { recorded: [2, 6], addr: 2 })]]);
    expect(v?.message).toMatch(/records \[2,6\) from leaf B pa100 D at T0\[0\], which maps only \[0,4\)/);
  });
  it('fails on a record of a leaf nothing dirtied, and on a bit outside every record', () => {
    expect(feed(boundedOverReport, [[getBegin('vmm#1', 0, 4)], [visit('vmm#1', 0, 4, { recorded: [0, 4] })]])?.message).toMatch(/nothing dirtied that range/);
    expect(feed(boundedOverReport, [[getBegin('vmm#1', 0, 8)], [getReturn('vmm#1', 0, 8, [6])]])?.message).toMatch(/returns bits for pages 6 that none of its records/);
  });
  it('is quiet for a record of a leaf created dirty by a map', () => {
    const map = o('pte-write', { table: 'T0', idx: 0, lvl: 2, start: 0, size: 4, kind: 'map', op: 'vmm#0', before: '-', after: 'B pa100 D', dirty: true });
    expect(feed(boundedOverReport, [[map], [getBegin('vmm#1', 0, 4)], [visit('vmm#1', 0, 4, { recorded: [0, 4] })], [getReturn('vmm#1', 0, 4, [0, 1, 2, 3])]])).toBeNull();
  });
});

describe('dirty-bitmap-edges', () => {
  it('fails on a bit written past nbits, and on user memory written outside the bitmap', () => {
    expect(feed(bitmapEdges, [[o('bitmap-set', { op: 'vmm#1', bit: 2, n: 2, nbits: 3 })]])?.message).toMatch(/writes bits \[2,4\) of a 3-bit user bitmap: bits 3..3 are past its end/);
    expect(feed(bitmapEdges, [[getReturn('vmm#1', 0, 3, [], { outside: [5] })]])?.message).toMatch(/outside its 3-bit bitmap written: bits 5/);
  });
  it('is quiet inside the bitmap', () => {
    expect(feed(bitmapEdges, [[o('bitmap-set', { op: 'vmm#1', bit: 0, n: 3, nbits: 3 })], [getReturn('vmm#1', 0, 3, [0, 1, 2])]])).toBeNull();
  });
});

describe('dirty-tlb-after-clear', () => {
  const trace = (between: ActorObservation[][]) => [
    [getBegin('vmm#1', 0, 4)],
    [o('tlb-fill', { base: 0, size: 4, pa: 100, writable: true, dirty: true, src: 'T0[0]' }, 'dev')],
    [o('pte-write', { table: 'T0', idx: 0, lvl: 2, start: 0, size: 4, kind: 'clear', op: 'vmm#1', before: 'B pa100 D', after: 'B pa100 C', dirty: false })],
    ...between,
    [o('op-end', { op: 'GET', id: 'vmm#1', rc: 0 })],
  ];
  it('fails when a GET returns with a dirty TLB entry over a descriptor it cleared', () => {
    const v = feed(tlbAfterClear, trace([[o('tlbi', { kind: 'noop', start: 0, end: 4, removed: [], op: 'vmm#1', reason: 'pgsize 0' })]]));
    expect(v?.message).toMatch(/vmm#1 returns while the TLB entry \[0,4\) .* still caches T0\[0\] as writable-dirty.*no-op/);
  });
  it('is quiet when the sync invalidated it, or when the TLB does not cache the dirty state', () => {
    expect(feed(tlbAfterClear, trace([[o('tlbi', { kind: 'range', start: 0, end: 4, removed: [0], op: 'vmm#1' })]]))).toBeNull();
    expect(feed(tlbAfterClear, trace([]), { tlbCachesDirty: false })).toBeNull();
  });
});

describe('dirty-reader-exclusion', () => {
  const IOVA = 'dirty.iova_rwsem';
  const insert = o('area', { area: 'A0', event: 'insert', iova: 0, pages: 4, pa: 100 });
  it('fails on an area change without iova_rwsem held for write', () => {
    expect(feed(readerExclusion, [[insert]])?.message).toMatch(/vmm changes area A0 \(insert\) holding iova_rwsem not for write/);
  });
  it('fails on an area change while another thread reads', () => {
    const s0 = step(0, [], [lk('acquire', IOVA, 'hotplug', 'read')], 'hotplug');
    const a = lk('acquire', IOVA, 'vmm');
    const i = o('area', { area: 'A0', event: 'insert', iova: 0, pages: 4, pa: 100 });
    const r = lk('release', IOVA, 'vmm');
    expect(feed(readerExclusion, [s0, step(1, [i], [a, r])])?.message).toMatch(/while hotplug hold it for read/);
  });
  it('fails on a visit of an area whose pages are NULL, not of a published one', () => {
    const a = lk('acquire', IOVA, 'vmm');
    const i = o('area', { area: 'A0', event: 'insert', iova: 0, pages: 4, pa: 100 });
    const r = lk('release', IOVA, 'vmm');
    expect(feed(readerExclusion, [step(0, [i], [a, r]), [visit('hotplug#0', 0, 4)]])?.message).toMatch(/hotplug#0 visits leaf \[0,4\) .* of area A0, whose pages are NULL/);
    const a2 = lk('acquire', IOVA, 'vmm');
    const p = o('area', { area: 'A0', event: 'publish', iova: 0, pages: 4, pa: 100 });
    const r2 = lk('release', IOVA, 'vmm');
    expect(feed(readerExclusion, [step(0, [i], [a, r]), step(1, [p], [a2, r2]), [visit('hotplug#0', 0, 4)]])).toBeNull();
  });
});

describe('dirty-walker-leaf-only', () => {
  it('fails when visit_dirty tests a table descriptor, not when it only descends through it', () => {
    const t = { kind: 'table', pte: 'T:T1', lvl: 1, start: 0, size: 16 };
    expect(feed(walkerLeafOnly, [[visit('vmm#1', 0, 16, { ...t, tested: true })]])?.message).toMatch(/applied the dirty test to a table descriptor at L1 T0\[0\] \(T:T1\)/);
    expect(feed(walkerLeafOnly, [[visit('vmm#1', 0, 16, { ...t, tested: false })]])).toBeNull();
  });
});

describe('split-atomic-translation', () => {
  it('fails on a wrong PA, a fault in a mapped area, and a translation after the unmap returned', () => {
    expect(feed(atomicTranslation, [[publish('A0', 0, 4)], [o('translate', { page: 1, pa: 105, writable: true, via: 'walk' }, 'dev')]])?.message).toMatch(/page 1 of a mapped area translates to pa 105 .* mapped to pa 101/);
    expect(feed(atomicTranslation, [[publish('A0', 0, 4)], [o('dma-fault', { page: 1, reason: 'translation' }, 'dev')]])?.message).toMatch(/page 1 of a mapped area \(pa 101\) faults/);
    const unmap = [[o('revoke', { area: 'A0', iova: 0, pages: 4 })], [o('op-begin', { op: 'UNMAP', id: 'hotplug#1', iova: 0, pages: 4 })], [o('op-end', { op: 'UNMAP', id: 'hotplug#1', rc: 0 })]];
    expect(feed(atomicTranslation, [[publish('A0', 0, 4)], ...unmap, [o('translate', { page: 1, pa: 101, writable: true, via: 'walk' }, 'dev')]])?.message).toMatch(/resurrected mapping: page 1 .* after hotplug#1 unmapped it/);
  });
  it('fails on a live block replaced by a table under BBML0, and under BBML1 without nT', () => {
    const inst = (bbml: number, oldNT: boolean) => o('install-table', { table: 'T0', idx: 0, lvl: 1, start: 0, size: 16, replaced: 'block', ok: true, bbml, oldNT, tlbHasOld: false, newTable: 'T5', op: 'splitter#0' }, 'splitter');
    expect(feed(atomicTranslation, [[inst(0, false)]])?.message).toMatch(/without break-before-make, on an SMMU with BBML0/);
    expect(feed(atomicTranslation, [[inst(1, false)]])?.message).toMatch(/under BBML1 without nT/);
    expect(feed(atomicTranslation, [[inst(1, true)], [inst(2, false)]])).toBeNull();
  });
  it('is quiet on the right translation', () => {
    expect(feed(atomicTranslation, [[publish('A0', 0, 4)], [o('translate', { page: 1, pa: 101, writable: true, via: 'tlb' }, 'dev')]])).toBeNull();
  });
});

describe('split-alloc-fail-safe', () => {
  const fail = o('table-alloc', { table: '', ok: false, by: 'arm_lpae_do_split_blk', op: 'splitter#0', slot: { table: 'T0', idx: 0 } }, 'splitter');
  it('fails when the block slot changes after its allocation failed, or the split reports all of it', () => {
    const inst = o('install-table', { table: 'T0', idx: 0, lvl: 1, start: 0, size: 16, replaced: 'block', ok: true, bbml: 2, oldNT: false, tlbHasOld: false, newTable: 'T3', op: 'splitter#0' }, 'splitter');
    expect(feed(allocFailSafe, [[fail], [inst]])?.message).toMatch(/allocation for the block at T0\[0\] \[0,16\) failed at step 0, yet it installs table T3/);
    expect(feed(allocFailSafe, [[fail], [o('split-return', { op: 'splitter#0', requested: 24, split: 24 }, 'splitter')]])?.message).toMatch(/reports 24 of 24 pages split/);
  });
  it('is quiet with a partial split', () => {
    expect(feed(allocFailSafe, [[fail], [o('split-return', { op: 'splitter#0', requested: 24, split: 8 }, 'splitter')]])).toBeNull();
  });
});

describe('split-serialized', () => {
  const ss = o('split-step', { op: 'splitter#0', phase: 'walk', iova: 0, lvl: 1, thread: 'splitter' }, 'splitter');
  it('fails on a split step during a dirty read (vfio) or during an unmap of its range (iova-read)', () => {
    expect(feed(serialized, [[getBegin('vmm#3', 0, 24)], [ss]])?.message).toMatch(/splitter#0 \(walk at iova 0, L1, for splitter\) runs while GET vmm#3 \[0,24\) of vmm/);
    const unmap = o('op-begin', { op: 'UNMAP', id: 'hotplug#1', iova: 0, pages: 16 }, 'hotplug');
    expect(feed(serialized, [[unmap], [ss]], { splitLock: 'iova-read' })?.message).toMatch(/while UNMAP hotplug#1/);
  });
  it('is quiet for its own requester, and for a read beside it with iova-read', () => {
    const mine = o('split-step', { op: 'splitter#0', phase: 'walk', iova: 0, lvl: 1, thread: 'vmm' }, 'splitter');
    expect(feed(serialized, [[o('op-begin', { op: 'SET', id: 'vmm#2', enable: true })], [mine]])).toBeNull();
    expect(feed(serialized, [[getBegin('vmm#3', 0, 24)], [ss]], { splitLock: 'iova-read' })).toBeNull();
  });
});

describe('dirty-terminates', () => {
  it('fails at quiescence on an op that never ended, a split that never flushed, a stuck thread', () => {
    expect(feed(terminates, [[getBegin('vmm#3', 0, 24)]], {}, quiet())?.message).toMatch(/GET vmm#3 of vmm \(since step 0\) never ended/);
    const inst = o('install-table', { table: 'T0', idx: 0, lvl: 1, start: 0, size: 16, replaced: 'block', ok: true, bbml: 2, oldNT: false, tlbHasOld: false, newTable: 'T3', op: 'splitter#0' }, 'splitter');
    const split = [[o('op-begin', { op: 'SPLIT', id: 'splitter#0', thread: 'splitter' }, 'splitter')], [inst], [o('op-end', { op: 'SPLIT', id: 'splitter#0', rc: 16 }, 'splitter')]];
    expect(feed(terminates, split, {}, quiet())?.message).toMatch(/splitter#0 returned at step 2 with 1 table installs .* and no TLB invalidation/);
    const stuck = quiet({ vmm: { kind: 'dirty.vmm', value: 'get', context: { phase: 'get.lock', next: { type: 'GET_LOCK' }, waits: null } } });
    expect(feed(terminates, [], {}, stuck)?.message).toMatch(/vmm is stuck in get.lock \(its step GET_LOCK cannot run\)/);
  });
  it('is quiet when the split flushed after its installs', () => {
    const inst = o('install-table', { table: 'T0', idx: 0, lvl: 1, start: 0, size: 16, replaced: 'block', ok: true, bbml: 2, oldNT: false, tlbHasOld: false, newTable: 'T3', op: 'splitter#0' }, 'splitter');
    const split = [[o('op-begin', { op: 'SPLIT', id: 'splitter#0', thread: 'splitter' }, 'splitter')], [inst], [o('tlbi', { kind: 'all', removed: [], op: 'splitter#0' }, 'splitter')], [o('op-end', { op: 'SPLIT', id: 'splitter#0', rc: 16 }, 'splitter')]];
    expect(feed(terminates, split, {}, quiet())).toBeNull();
  });
});

describe('lockdep and no-use-after-free over the dirty vocabulary', () => {
  it('lockdep fails on domains_rwsem -> iova_rwsem against iova_rwsem -> domains_rwsem', () => {
    const D = 'dirty.domains_rwsem';
    const I = 'dirty.iova_rwsem';
    const map = step(0, [], [lk('acquire', D, 'vmm', 'read'), lk('acquire', I, 'vmm'), lk('release', I, 'vmm'), lk('release', D, 'vmm')]);
    const unmap = step(1, [], [lk('acquire', I, 'hotplug'), lk('acquire', D, 'hotplug', 'read')], 'hotplug');
    expect(feed(lockdep, [map, unmap])?.message).toMatch(/lock order inversion/);
    expect(feed(lockdep, [map])).toBeNull();
  });
  it('no-use-after-free fails on a page table used after unmap freed it', () => {
    const v = feed(noUseAfterFree, [[o('free', { obj: 'table:T3', by: '__arm_lpae_unmap' }, 'hotplug')], [o('use', { obj: 'table:T3', by: 'splitter#0:arm_lpae_install_table' }, 'splitter')]]);
    expect(v?.message).toMatch(/use after free: splitter .* touched table:T3/);
  });
});
