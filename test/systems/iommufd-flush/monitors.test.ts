/**
 * Each monitor is fed a hand-built trace that breaks it (it must fail, naming the values) and a
 * matching good trace (it must stay quiet). Which variant each one catches in a real run is in
 * variants.test.ts (the non-coherent monitors that another monitor pre-empts are run alone there).
 */
import { describe, expect, it } from 'vitest';
import type { LockPort } from '../../../core/model/locks.ts';
import type { QuiescenceView } from '../../../core/model/monitor.ts';
import { CpuCache } from '../../../kernel/cpuCache.ts';
import { lockdep } from '../../../kernel/lockdep.ts';
import {
  failAtomic,
  ioctlsComplete,
  itreeConsistent,
  kernelDestroySucceeds,
  kernelWarn,
  ncCleanAtUnpin,
  ncFlushBeforeMap,
  ncNoStaleRead,
  ncSkipOnlyIfFlushed,
  noUnpinWhileMapped,
  noUseAfterFree,
  pinBalance,
} from '../../../systems/iommufd-flush/specs/index.ts';
import { IommufdState } from '../../../systems/iommufd-flush/state/iommufd.ts';
import { feed, o, step } from './helpers.ts';

const line = (dirty: boolean, v: number, since: number) => ({ dirty, v, since });
const map = (pfn: number, tick: number, extra: Record<string, unknown> = {}) =>
  o('iommu-map', { dom: 'N', nc: true, iova: 0, pfn, pages: 'P0', idx: 0, op: 'HWPT_ALLOC N', opStart: 5, line: null, tick, ...extra });
const unmap = (pfn: number, tick: number) => o('iommu-unmap', { dom: 'N', nc: true, iova: 0, pfn, pages: 'P0', idx: 0, tick });
const pin = (pfn: number, countAfter = 1) => o('pin', { pfn, pages: 'P0', idx: 0, countAfter, tick: 0 });
const unpin = (pfn: number, l: ReturnType<typeof line> | null, extra: Record<string, unknown> = {}) =>
  o('unpin', { pfn, pages: 'P0', idx: 0, path: 'storage', countAfter: 0, error: null, line: l, mappedBy: [], accessed: false, tick: 20, ...extra });
const decision = (hook: string, decision: string, extra: Record<string, unknown> = {}) => o('flush-decision', { hook, pfn: 100, pages: 'P0', idx: 0, decision, reason: 'P0.cache_flush_required already set', ...extra });

describe('nc-flush-before-map', () => {
  it('fails when a page first reaches a non-coherent domain with a dirty line older than the ioctl', () => {
    const v = feed(ncFlushBeforeMap, [step(0, [pin(100), map(100, 6, { line: line(true, 1, -1) })])]);
    expect(v?.message).toMatch(/pfn 100 \(P0\[0\]\) mapped into non-coherent N at iova 0 .*dirty line v1 since tick -1, written before the ioctl began \(tick 5\)/);
  });
  it('accepts a line dirtied during the ioctl, a clean page, and a page already in a non-coherent domain', () => {
    expect(feed(ncFlushBeforeMap, [step(0, [map(100, 6, { line: line(true, 3, 5) })])])).toBeNull();
    expect(feed(ncFlushBeforeMap, [step(0, [map(100, 6, { line: null })])])).toBeNull();
    expect(feed(ncFlushBeforeMap, [step(0, [map(100, 2, { line: null }), map(100, 6, { dom: 'N2', line: line(true, 3, 4) })])])).toBeNull();
    expect(feed(ncFlushBeforeMap, [step(0, [map(100, 6, { nc: false, line: line(true, 1, -1) })])])).toBeNull();
  });
  it('counts instead of failing in costMode', () => {
    expect(feed(ncFlushBeforeMap, [step(0, [map(100, 6, { line: line(true, 1, -1) })])], undefined, { costMode: true })).toBeNull();
  });
});

describe('nc-no-stale-read', () => {
  const dma = (snoop: boolean, ret: number) => o('dma', { kind: 'read', pfn: 100, snoop, ret, mem: ret, line: line(true, 1, -1), tick: 3, dev: 'dev0', dom: 'N', iova: 0, pages: 'P0', idx: 0 }, 'dev0');
  it("fails when a no-snoop read returns the previous owner's data", () => {
    expect(feed(ncNoStaleRead, [step(0, [dma(false, 0)])])?.message).toMatch(/dev0 read pfn 100 .*through non-coherent N at iova 0 without snooping: memory v0 is the previous owner's data/);
  });
  it("accepts the owner's data and snooped reads", () => {
    expect(feed(ncNoStaleRead, [step(0, [dma(false, 1)])])).toBeNull();
    expect(feed(ncNoStaleRead, [step(0, [dma(true, 0)])])).toBeNull();
  });
});

describe('nc-clean-at-unpin', () => {
  it('fails when a line older than the last non-coherent unmap survives the last unpin', () => {
    const v = feed(ncCleanAtUnpin, [step(0, [pin(100), map(100, 4), unmap(100, 10)]), step(1, [unpin(100, line(false, 1, 6))])]);
    expect(v?.message).toMatch(/pfn 100 \(P0\[0\]\) unpinned by vmm0 \(storage\) with a clean line v1 since tick 6, older than its last non-coherent unmap \(tick 10\)/);
  });
  it('accepts a line made after the unmap, a page never non-coherent, and an unpin that is not the last', () => {
    expect(feed(ncCleanAtUnpin, [step(0, [pin(100), map(100, 4), unmap(100, 10)]), step(1, [unpin(100, line(true, 4, 11))])])).toBeNull();
    expect(feed(ncCleanAtUnpin, [step(0, [pin(100), map(100, 4, { nc: false })]), step(1, [unpin(100, line(true, 1, -1))])])).toBeNull();
    expect(feed(ncCleanAtUnpin, [step(0, [pin(100), map(100, 4), unmap(100, 10)]), step(1, [unpin(100, line(true, 1, -1), { countAfter: 1 })])])).toBeNull();
  });
  it('forgets a previous pin lifetime', () => {
    expect(feed(ncCleanAtUnpin, [step(0, [pin(100), map(100, 4), unmap(100, 10), unpin(100, null)]), step(1, [pin(100), unpin(100, line(true, 1, 2))])])).toBeNull();
  });
});

describe('nc-skip-only-if-flushed', () => {
  it('fails on an H-fill skip for a page in no non-coherent domain and not flushed since its last write', () => {
    const v = feed(ncSkipOnlyIfFlushed, [step(0, [pin(100), decision('fill', 'skip', { nc: true })])]);
    expect(v?.message).toMatch(/vmm0 skipped the flush of pfn 100 \(P0\[0\]\) before a non-coherent map because "P0.cache_flush_required already set", but the page is in no non-coherent domain and was never flushed/);
  });
  it('fails on a skip at the last unpin of a page unmapped from a non-coherent domain and not flushed since', () => {
    const v = feed(ncSkipOnlyIfFlushed, [step(0, [pin(100), map(100, 4), o('flush', { pfn: 100, wasDirty: true, tick: 3 }), unmap(100, 9)]), step(1, [decision('unpin', 'skip', { last: true })])]);
    expect(v?.message).toMatch(/before unpinning it .*last unmapped at tick 9\) and last flushed at tick 3/);
  });
  it('accepts a skip of a page flushed after its last write, already non-coherent, or not at its last unpin', () => {
    const written = o('cpu', { kind: 'write', pfn: 100, v: 2, tick: 2 });
    expect(feed(ncSkipOnlyIfFlushed, [step(0, [written, o('flush', { pfn: 100, wasDirty: true, tick: 3 }), decision('fill', 'skip', { nc: true })])])).toBeNull();
    expect(feed(ncSkipOnlyIfFlushed, [step(0, [map(100, 4), decision('fill', 'skip', { nc: true })])])).toBeNull();
    expect(feed(ncSkipOnlyIfFlushed, [step(0, [pin(100), map(100, 4), unmap(100, 9)]), step(1, [decision('unpin', 'skip', { last: false })])])).toBeNull();
    expect(feed(ncSkipOnlyIfFlushed, [step(0, [pin(100), map(100, 4), unmap(100, 9), o('flush', { pfn: 100, wasDirty: false, tick: 10 })]), step(1, [decision('unpin', 'skip', { last: true })])])).toBeNull();
  });
});

/** A real IommufdState over a fake lock table, for the quiescence checks. */
function state(): IommufdState {
  const locks: LockPort = { declare() {}, canTake: () => true, acquire() {}, release() {}, heldBy: () => [] };
  const cache = new CpuCache('cpu-cache', [100, 101].map((pfn) => ({ pfn, dirty: true })));
  return new IommufdState({ policy: 'per-fill', failNth: -1, allocFailRate: 0, gupFailRate: 0, batchEntries: 2, preferNcStorage: false, seedCntInside: false, maxPages: 1, actors: [] }, locks, cache, [100, 101], 1, true);
}
const quiet = (st: IommufdState, actors: QuiescenceView['actors'] = {}): QuiescenceView => ({ step: 9, actors, undelivered: [], shared: (n) => (n === 'iommufd' ? st : undefined) });

describe('pin-balance', () => {
  it('fails on an unpin of a page its iopt_pages does not hold', () => {
    const v = feed(pinBalance, [step(0, [unpin(0, null, { error: 'unpin of pfn 0 by P0, which holds no pin of it (holders: none)' })])]);
    expect(v?.message).toMatch(/vmm0 \(storage\) unpins P0\[0\]: unpin of pfn 0 by P0, which holds no pin of it/);
  });
  it("fails at quiescence when a pin has no holder (check_refs), naming the page frame", () => {
    const st = state();
    st.s.pages.P0 = { id: 'P0', uptr: 0, npages: 2, writable: true, kref: 1, npinned: 1, lastNpinned: 1, xarray: {}, accessItree: [], domainsItree: [], flag: false, sticky: false, ncMaps: {}, ncDirty: {}, freed: false };
    st.s.pins.pins[101] = ['P0'];
    const v = feed(pinBalance, [], quiet(st));
    expect(v?.message).toMatch(/check_refs: P0: npinned 1, last_npinned 1, indexes held 0; pfn 101: pin count 1, held by 0 \(nobody\); pins by P0/);
  });
  it('accepts balanced pins', () => {
    const st = state();
    st.s.pages.P0 = { id: 'P0', uptr: 0, npages: 2, writable: true, kref: 1, npinned: 1, lastNpinned: 1, xarray: { 1: 101 }, accessItree: [{ start: 1, last: 1, users: 1 }], domainsItree: [], flag: false, sticky: false, ncMaps: {}, ncDirty: {}, freed: false };
    st.s.pins.pins[101] = ['P0'];
    expect(feed(pinBalance, [step(0, [unpin(100, null)])], quiet(st))).toBeNull();
  });
});

describe('no-unpin-while-mapped-or-accessed', () => {
  it('fails on an unpin while a domain still maps the page', () => {
    expect(feed(noUnpinWhileMapped, [step(0, [unpin(100, null, { path: 'reader', mappedBy: ['N@0'] })])])?.message).toMatch(/vmm0 \(reader\) unpins pfn 100 \(P0\[0\]\) while still mapped at N@0/);
  });
  it('fails on an unpin while an access covers the index', () => {
    expect(feed(noUnpinWhileMapped, [step(0, [unpin(100, null, { accessed: true })])])?.message).toMatch(/while an access of P0 covers index 0/);
  });
  it('accepts an unpin of a page nothing holds', () => {
    expect(feed(noUnpinWhileMapped, [step(0, [unpin(100, null)])])).toBeNull();
  });
});

describe('itree-consistent', () => {
  it('fails on the problems found at a pages->mutex release', () => {
    const v = feed(itreeConsistent, [step(0, [o('itree', { pages: 'P0', problems: ['P0.domains_itree holds the pages_node of A0, which is freed'] })])]);
    expect(v?.message).toMatch(/after vmm0 released P0.mutex: P0.domains_itree holds the pages_node of A0, which is freed/);
  });
  it('accepts a consistent tree', () => {
    expect(feed(itreeConsistent, [step(0, [o('itree', { pages: 'P0', problems: [] })])])).toBeNull();
  });
  it('the state names a stale node of a freed area and filled halves outside the tree (the split bug)', () => {
    const st = state();
    st.s.pages.P0 = { id: 'P0', uptr: 0, npages: 2, writable: true, kref: 2, npinned: 2, lastNpinned: 2, xarray: {}, accessItree: [], domainsItree: [{ area: 'A0', start: 0, last: 1 }], flag: false, sticky: false, ncMaps: {}, ncDirty: {}, freed: false };
    const area = (id: string, start: number, freed: boolean) => ({ id, ioas: 0, iova: start, last: start, p: 'P0', pages: 'P0', start, lastIdx: start, storage: 'C', storageNc: false, numAccesses: 0, preventAccess: false, freed });
    st.s.areas = { A0: { ...area('A0', 0, true), last: 1, lastIdx: 1 }, A1: area('A1', 0, false), A2: area('A2', 1, false) };
    expect(st.itreeProblems('P0')).toEqual([
      'P0.domains_itree holds the pages_node of A0, which is freed',
      'A1 has storage_domain C but is not in P0.domains_itree',
      'A2 has storage_domain C but is not in P0.domains_itree',
    ]);
  });
});

describe('fail-atomic', () => {
  const end = (rc: number, fault: string | null, residual: string[]) => o('ioctl-end', { op: 'IOAS_MAP ioas0 iova 0+4 uptr 0', rc, fault, residual });
  it('fails when an ioctl failed by an injected fault leaves its mutations behind', () => {
    expect(feed(failAtomic, [step(0, [end(-12, 'iommu_map', ['pin:100+1', 'pte:N@0+1'])])])?.message).toMatch(
      /vmm0: IOAS_MAP ioas0 iova 0\+4 uptr 0 failed \(rc -12\) at fail site iommu_map leaving pin:100\+1, pte:N@0\+1/,
    );
  });
  it('accepts a clean failure, a failure without a fault, and a success', () => {
    expect(feed(failAtomic, [step(0, [end(-12, 'iommu_map', [])])])).toBeNull();
    expect(feed(failAtomic, [step(0, [end(-17, null, ['area:A0+1'])])])).toBeNull();
    expect(feed(failAtomic, [step(0, [end(0, null, ['pin:100+1'])])])).toBeNull();
  });
});

describe('no-use-after-free', () => {
  it('fails on a use of a freed area and on a double free', () => {
    const a = [o('alloc', { obj: 'A0', by: 'iopt_area_alloc' }), o('free', { obj: 'A0', by: 'iopt_abort_area' })];
    expect(feed(noUseAfterFree, [step(0, a), step(1, [o('use', { obj: 'A0', by: 'iopt_area_contig_done' }, 'access0')])])?.message).toMatch(
      /use after free: access0 \(iopt_area_contig_done\) touched A0, freed at step 0 by vmm0 \(iopt_abort_area\)/,
    );
    expect(feed(noUseAfterFree, [step(0, a), step(1, [o('free', { obj: 'A0', by: 'x' })])])?.message).toMatch(/double free/);
  });
  it('accepts a use before the free and a re-allocation', () => {
    expect(feed(noUseAfterFree, [step(0, [o('alloc', { obj: 'N' }), o('use', { obj: 'N' }), o('free', { obj: 'N' })]), step(1, [o('alloc', { obj: 'N' }), o('use', { obj: 'N' })])])).toBeNull();
  });
});

describe('kernel-destroy-succeeds', () => {
  it('fails when iommufd_access_destroy() cannot destroy the object', () => {
    expect(feed(kernelDestroySucceeds, [step(0, [o('kernel-destroy', { obj: 'access0', ok: false, users: 2 }, 'access0')])])?.message).toMatch(/access0: iommufd_object_destroy_user\(access0\) failed with users 2/);
  });
  it('accepts a destroy that succeeds', () => {
    expect(feed(kernelDestroySucceeds, [step(0, [o('kernel-destroy', { obj: 'access0', ok: true, users: 0 }, 'access0')])])).toBeNull();
  });
});

describe('kernel-warn', () => {
  it('fails on a WARN, naming where', () => {
    expect(feed(kernelWarn, [step(0, [o('warn', { where: 'iopt_area_unpin_domain', detail: 'batch_last_index 4 > real_last_index 3' })])])?.message).toBe(
      'WARN in iopt_area_unpin_domain (vmm0): batch_last_index 4 > real_last_index 3',
    );
  });
  it('is quiet without one', () => {
    expect(feed(kernelWarn, [step(0, [o('pin', { pfn: 100 })])])).toBeNull();
  });
});

describe('ioctls-complete', () => {
  it('fails at quiescence on a thread waiting for a reply, naming its state and lock', () => {
    const q: QuiescenceView = {
      step: 9,
      undelivered: [],
      actors: {
        vmm0: { kind: 'iommufd-flush.vmm', value: '{"unmap":"afterNotify"}', context: { held: ['ioas0.domains'], ops: [1, 2], opIdx: 1, pending: 1, opName: 'IOAS_UNMAP' } },
        cpu0: { kind: 'iommufd-flush.cpu', value: 'idle', context: { held: [], ops: [], opIdx: 0 } },
      },
    };
    expect(feed(ioctlsComplete, [], q)?.message).toBe('stuck at quiescence: vmm0 in {"unmap":"afterNotify"} (IOAS_UNMAP), holding ioas0.domains, 1 op(s) left, waiting for 1 reply');
  });
  it('accepts every thread idle with its script done', () => {
    expect(feed(ioctlsComplete, [], { step: 9, undelivered: [], actors: { vmm0: { kind: 'k', value: 'idle', context: { held: [], ops: [1], opIdx: 1, pending: 0 } } } })).toBeNull();
  });
});

describe('lockdep over the iommufd locks', () => {
  const lk = (op: 'acquire' | 'release', lock: string, by: string, path: string) => ({ op, lock, kind: 'rwsem' as const, mode: 'write' as const, by, path });
  it('fails when iova_rwsem is taken before domains_rwsem after the documented order was seen', () => {
    const steps = [
      step(0, [], { locks: [lk('acquire', 'ioas0.domains', 'vmm0', 'iopt_table_add_domain'), lk('acquire', 'ioas0.iova', 'vmm0', 'iopt_table_add_domain'), lk('release', 'ioas0.iova', 'vmm0', 'x'), lk('release', 'ioas0.domains', 'vmm0', 'x')] }),
      step(1, [], { locks: [lk('acquire', 'ioas0.iova', 'vmm1', 'bad_path'), lk('acquire', 'ioas0.domains', 'vmm1', 'bad_path')] }),
    ];
    expect(feed(lockdep, steps)?.message).toMatch(/lock order inversion: bad_path takes ioas0.domains while holding ioas0.iova/);
  });
});
