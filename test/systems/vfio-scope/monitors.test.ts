/**
 * Each monitor is fed a hand-built trace that breaks it (it must fail, naming the kernel values)
 * and a matching good trace (it must stay quiet).
 */
import { describe, expect, it } from 'vitest';
import {
  bitmapLifetime,
  detachPopulatesFull,
  dmaRwExact,
  fieldsUnderLock,
  groupRefBalance,
  noLostDirty,
  pinBalance,
  scopeCounterExact,
  scopeMonotone,
  singleton,
  threadsFinish,
} from '../../../systems/vfio-scope/specs/index.ts';
import { CORE, DEVICE_LIST_LOCK, IOMMU_LOCK, PINS, TYPE1, deviceLock } from '../../../systems/vfio-scope/types.ts';
import { PinState } from '../../../systems/vfio-scope/state/pins.ts';
import { Type1State } from '../../../systems/vfio-scope/state/type1.ts';
import { CoreState } from '../../../systems/vfio-scope/state/core.ts';
import type { QuiescenceView } from '../../../core/model/monitor.ts';
import { defaults, feed, lock, o, step, unlock } from './helpers.ts';

const dmaView = (over: Record<string, unknown> = {}) => ({ dma: 'd0', inst: 'd0#1', pages: 4, mapped: false, pfn: {}, bitmap: null as string | null, extra: 0, ...over });

describe('fields-under-lock', () => {
  it('fails on a type1 write without iommu->lock, naming the field and the locks held', () => {
    const v = feed(fieldsUnderLock, [step(0, 'mig', [o('mig', 'field-write', { obj: 'type1', field: 'tracking' })])]);
    expect(v?.message).toMatch(/mig writes type1.tracking without vfio.iommu->lock \(holds: nothing\)/);
  });
  it('fails on the device list written with only iommu->lock, and a core field without the group device_lock', () => {
    const a = feed(fieldsUnderLock, [step(0, 'mdev0', [o('mdev0', 'field-write', { obj: 'type1', field: 'devList' })], [lock('acquire', IOMMU_LOCK, 'mdev0')])]);
    expect(a?.message).toMatch(/devList without vfio.iommu->device_list_lock/);
    const b = feed(fieldsUnderLock, [step(0, 'pdev0', [o('pdev0', 'field-write', { obj: 'core', field: 'hasPinned', key: 'g0' })], [lock('acquire', IOMMU_LOCK, 'pdev0')])]);
    expect(b?.message).toMatch(/core.hasPinned\[g0\] without vfio.g0.device_lock/);
  });
  it('accepts writes under a lock held from an earlier step or taken at the start of this one, and not after its release', () => {
    const ok = [
      step(0, 'vmm', [], [lock('acquire', IOMMU_LOCK, 'vmm')]),
      step(1, 'vmm', [o('vmm', 'field-write', { obj: 'type1', field: 'counter' })], [lock('release', IOMMU_LOCK, 'vmm')]),
      step(2, 'mdev0', [o('mdev0', 'field-write', { obj: 'type1', field: 'devList' })], [lock('acquire', DEVICE_LIST_LOCK, 'mdev0'), lock('acquire', IOMMU_LOCK, 'mdev0')]),
      step(3, 'pdev1', [o('pdev1', 'field-write', { obj: 'core', field: 'devCounter', key: 'g0' })], [lock('acquire', deviceLock('g0'), 'pdev1'), lock('release', deviceLock('g0'), 'pdev1')]),
    ];
    expect(feed(fieldsUnderLock, ok)).toBeNull();
    // vmm released iommu->lock at step 1; another thread holding it does not count for vmm.
    const after = [...ok, step(4, 'mig', [], [lock('acquire', IOMMU_LOCK, 'mig')]), step(5, 'vmm', [o('vmm', 'field-write', { obj: 'type1', field: 'counter' })])];
    expect(feed(fieldsUnderLock, after)?.message).toMatch(/vmm writes type1.counter without vfio.iommu->lock/);
  });
});

describe('scope-counter-exact', () => {
  const groups = [
    { g: 'g0', kind: 'iommu' as const, scope: false },
    { g: 'e0', kind: 'emulated' as const, scope: true },
  ];
  it('fails when num_non_pinned_groups disagrees with the groups at a release', () => {
    const v = feed(scopeCounterExact, [step(0, 'vmm', [unlock('vmm', { op: 'vfio_iommu_type1_detach_group', counter: 2, groups })])]);
    expect(v?.message).toMatch(/num_non_pinned_groups is 2 when vfio_iommu_type1_detach_group releases iommu->lock, but 1 attached group\(s\) are not in pinned scope; groups: g0\(iommu, scope=false\), e0\(emulated, scope=true\)/);
  });
  it('fails on a stale or unsound v5.8 bool', () => {
    expect(feed(scopeCounterExact, [step(0, 'vmm', [unlock('vmm', { mode: 'bool', pinnedScope: true, groups })])])?.message).toMatch(/pinned_page_dirty_scope is true/);
    const allIn = groups.map((g) => ({ ...g, scope: true }));
    expect(feed(scopeCounterExact, [step(0, 'vmm', [unlock('vmm', { mode: 'bool', pinnedScope: false, groups: allIn })])])?.message).toMatch(/pinned_page_dirty_scope is false .* 0 attached group/);
  });
  it('accepts an exact counter, an exact bool, a bool with no group, and the walk design', () => {
    const steps = [
      step(0, 'vmm', [unlock('vmm', { counter: 1, groups })]),
      step(1, 'vmm', [unlock('vmm', { mode: 'bool', pinnedScope: false, groups })]),
      step(2, 'vmm', [unlock('vmm', { mode: 'bool', pinnedScope: false, groups: [] })]),
      step(3, 'vmm', [unlock('vmm', { mode: 'walk', counter: 7, groups })]),
    ];
    expect(feed(scopeCounterExact, steps)).toBeNull();
  });
});

describe('scope-monotone', () => {
  const attach = step(0, 'x', [o('x', 'group-attach', { g: 'g0', kind: 'iommu', scope: false, domain: 'dom1' })]);
  const change = (from: boolean, to: boolean, cause: 'pin' | 'attach' | 'join', pinComplete: boolean) => step(1, 'pdev0', [o('pdev0', 'scope-change', { g: 'g0', kind: 'iommu', from, to, cause, pinComplete, devCounter: 1 })]);
  it('fails on a promotion before the pin completed', () => {
    expect(feed(scopeMonotone, [attach, change(false, true, 'pin', false)])?.message).toMatch(/group g0 \(iommu\) entered pinned scope by pin before the pin completed \(pinComplete=false\)/);
  });
  it('fails on a demotion by a join unless the design is reset-on-join', () => {
    const steps = [attach, change(false, true, 'pin', true), { ...change(true, false, 'join', false), i: 2 }];
    expect(feed(scopeMonotone, steps)?.message).toMatch(/g0 \(iommu\) left pinned scope by join, which only reset-on-join allows/);
    expect(feed(scopeMonotone, steps, undefined, defaults({ singleton: 'reset-on-join' }))).toBeNull();
  });
  it('fails on a change that does not start from the scope the group has', () => {
    expect(feed(scopeMonotone, [attach, change(true, false, 'join', false)], undefined, defaults({ singleton: 'reset-on-join' }))?.message).toMatch(/but its scope was false/);
  });
  it('accepts a completed pin, and a re-attach starting over', () => {
    const steps = [attach, change(false, true, 'pin', true), step(2, 'vmm', [o('vmm', 'group-detach', { g: 'g0', kind: 'iommu', scopeWas: true, tracking: false, updated: false, bitmaps: {} })]), { ...attach, i: 3 }, { ...change(false, true, 'pin', true), i: 4 }];
    expect(feed(scopeMonotone, steps)).toBeNull();
  });
});

describe('singleton', () => {
  const init = step(0, 'x', [o('x', 'core-init', { g: 'g0', devices: ['pdev0'], devCounter: 1 }), o('x', 'group-attach', { g: 'g0', kind: 'iommu', scope: false, domain: 'dom1' })]);
  const promote = (devCounter: number) => step(3, 'pdev0', [o('pdev0', 'scope-change', { g: 'g0', kind: 'iommu', from: false, to: true, cause: 'pin', pinComplete: true, devCounter })]);
  const join = (i: number, result: 'ok' | 'ebusy') => step(i, 'pdev1', [o('pdev1', 'join', { g: 'g0', dev: 'pdev1', result, devCounter: result === 'ok' ? 2 : 1 })]);
  it('fails when a device joins a group in pinned scope', () => {
    expect(feed(singleton, [init, promote(1), join(5, 'ok')])?.message).toMatch(/device pdev1 joined IOMMU group g0 \(dev_counter now 2\) while g0 is in pinned scope since the pin at step 3/);
  });
  it('fails when a pin promotes a group of two devices', () => {
    expect(feed(singleton, [init, join(1, 'ok'), promote(2)])?.message).toMatch(/IOMMU group g0 entered pinned scope by a pin while it has 2 devices/);
  });
  it('accepts a refused join, a join before any pin, and an emulated group', () => {
    expect(feed(singleton, [init, promote(1), join(5, 'ebusy')])).toBeNull();
    expect(feed(singleton, [init, join(1, 'ok')])).toBeNull();
    const e = step(0, 'x', [o('x', 'group-attach', { g: 'e0', kind: 'emulated', scope: true, domain: null })]);
    expect(feed(singleton, [e, step(1, 'mdev0', [o('mdev0', 'scope-change', { g: 'e0', kind: 'emulated', from: false, to: true, cause: 'pin', pinComplete: true, devCounter: 3 })])])).toBeNull();
  });
});

describe('no-lost-dirty', () => {
  const on = step(0, 'mig', [o('mig', 'tracking', { on: true })]);
  const write = (i: number, idx: number, tracking = true) => step(i, 'pdev0', [o('pdev0', 'dirty-write', { dev: 'pdev0', g: 'g0', dma: 'd0', inst: 'd0#1', idx, via: 'dma', tracking })]);
  const report = (i: number, bits: number[], op: 'get' | 'unmap' = 'get') => step(i, 'mig', [o('mig', 'bitmap-report', { op, dma: 'd0', inst: 'd0#1', bits, nbits: 4 })]);
  it('fails when a page written while tracking is missing from the next report', () => {
    expect(feed(noLostDirty, [on, write(1, 2), report(2, [0, 1])])?.message).toMatch(/page d0#1:2 \(dma d0\) written by pdev0 via dma at step 1 is missing from the GET_BITMAP report at step 2 \(reported bits \[0,1\] of 4\)/);
  });
  it('a report settles every write before it: a later report need not repeat it', () => {
    expect(feed(noLostDirty, [on, write(1, 2), report(2, [2]), report(3, [])])).toBeNull();
    expect(feed(noLostDirty, [on, write(1, 2), report(2, [2]), write(3, 1), report(4, [2])])?.message).toMatch(/d0#1:1 .* at step 3/);
  });
  it('owes nothing for writes before START, after STOP, or for a dma removed without a report', () => {
    expect(feed(noLostDirty, [write(0, 1, false), on, report(2, [])])).toBeNull();
    expect(feed(noLostDirty, [on, write(1, 1), step(2, 'mig', [o('mig', 'tracking', { on: false })]), report(3, [])])).toBeNull();
    expect(feed(noLostDirty, [on, write(1, 1), step(2, 'vmm', [o('vmm', 'dma-removed', { dma: 'd0', inst: 'd0#1', reported: false, by: 'vfio_dma_do_unmap' })])])).toBeNull();
  });
});

describe('detach-populates-full', () => {
  const det = (scopeWas: boolean, tracking: boolean, bits: string) => step(0, 'vmm', [o('vmm', 'group-detach', { g: 'g0', kind: 'iommu', scopeWas, tracking, updated: !scopeWas, bitmaps: { d0: bits, d1: '1111' } })]);
  it('fails when a non-pinned group detaches while tracking and a bitmap is not all ones', () => {
    expect(feed(detachPopulatesFull, [det(false, true, '0100')])?.message).toMatch(/group g0 \(iommu, not in pinned scope\) detached while tracking, but dma d0's bitmap is 0100/);
  });
  it('accepts all ones (extra bits ignored), a pinned group, or no tracking', () => {
    expect(feed(detachPopulatesFull, [det(false, true, '1111+3')])).toBeNull();
    expect(feed(detachPopulatesFull, [det(true, true, '0000')])).toBeNull();
    expect(feed(detachPopulatesFull, [det(false, false, '0000')])).toBeNull();
  });
});

describe('dma-rw-exact', () => {
  const rw = (offset: number, copied: number, setStart: number, setCount: number, tracking = true) =>
    step(0, 'mdev0', [o('mdev0', 'dma-rw', { dev: 'mdev0', dma: 'd0', inst: 'd0#1', offset, copied, pgshift: 2, setStart, setCount, tracking })]);
  it('fails on a straddling write that set too few bits (the pre-2c5af98592f6 count)', () => {
    expect(feed(dmaRwExact, [rw(3, 2, 0, 0)])?.message).toMatch(/wrote 2 byte\(s\) at offset 3 of d0#1 \(pages 0..1\) but set bits none/);
  });
  it('fails on extra bits too', () => {
    expect(feed(dmaRwExact, [rw(4, 1, 1, 2)])?.message).toMatch(/\(pages 1..1\) but set bits 1..2/);
  });
  it('accepts the exact range, a failed copy and a write while not tracking', () => {
    expect(feed(dmaRwExact, [rw(3, 2, 0, 2), rw(4, 0, 0, 0), rw(3, 2, 0, 0, false)])).toBeNull();
  });
});

describe('bitmap-lifetime', () => {
  it('fails on a use of an absent bitmap, a double allocation, and a removed dma holding one', () => {
    expect(feed(bitmapLifetime, [step(0, 'mdev0', [o('mdev0', 'bitmap-use', { inst: 'd0#1', by: 'vfio_iommu_type1_pin_pages', present: false })])])?.message).toMatch(/uses the dirty bitmap of d0#1, which has none/);
    const alloc = step(0, 'mig', [o('mig', 'bitmap-alloc', { inst: 'd0#1', nbits: 4, by: 'vfio_dma_bitmap_alloc_all' })]);
    expect(feed(bitmapLifetime, [alloc, { ...alloc, i: 1 }])?.message).toMatch(/allocates a second bitmap for d0#1/);
    expect(feed(bitmapLifetime, [alloc, step(1, 'vmm', [o('vmm', 'dma-removed', { dma: 'd0', inst: 'd0#1', reported: false, by: 'x' })])])?.message).toMatch(/still holds its bitmap/);
  });
  it('fails when tracking and a dma has no bitmap at a release, or not tracking and one has', () => {
    expect(feed(bitmapLifetime, [step(0, 'vmm', [unlock('vmm', { op: 'vfio_dma_do_map', tracking: true, dmas: [dmaView()] })])])?.message).toMatch(/tracking, but d0#1 has no bitmap when vfio_dma_do_map releases/);
    expect(feed(bitmapLifetime, [step(0, 'mig', [unlock('mig', { tracking: false, dmas: [dmaView({ bitmap: '0000' })] })])])?.message).toMatch(/not tracking, but d0#1 still has a bitmap/);
  });
  it('accepts alloc, use, free and removal in order', () => {
    const steps = [
      step(0, 'mig', [o('mig', 'bitmap-alloc', { inst: 'd0#1', nbits: 4, by: 'START' }), unlock('mig', { tracking: true, dmas: [dmaView({ bitmap: '0000' })] })]),
      step(1, 'mdev0', [o('mdev0', 'bitmap-use', { inst: 'd0#1', by: 'pin', present: true })]),
      step(2, 'mig', [o('mig', 'bitmap-free', { inst: 'd0#1', by: 'STOP' }), unlock('mig', { tracking: false, dmas: [dmaView()] })]),
      step(3, 'vmm', [o('vmm', 'dma-removed', { dma: 'd0', inst: 'd0#1', reported: false, by: 'x' })]),
    ];
    expect(feed(bitmapLifetime, steps)).toBeNull();
  });
});

describe('pin-balance', () => {
  it('fails on a vpfn ref_count the drivers do not account for', () => {
    const u = unlock('mdev0', { dmas: [dmaView({ pfn: { 1: 2 } })], gup: { 'd0#1:1': 1 }, driver: { mdev0: { 'd0#1:1': 1 } }, lockedVm: 1 });
    expect(feed(pinBalance, [step(0, 'mdev0', [u])])?.message).toMatch(/vpfn d0#1:1 has ref_count 2 but the drivers hold 1 pin\(s\) of it \(mdev0:1\)/);
  });
  it('fails on a leaked GUP pin (the pre-2e6cfd496f5b vpfn allocation failure) and on locked_vm', () => {
    const leak = unlock('mdev0', { dmas: [dmaView({ mapped: true })], gup: { 'd0#1:0': 1, 'd0#1:1': 2, 'd0#1:2': 1, 'd0#1:3': 1 }, lockedVm: 4 });
    expect(feed(pinBalance, [step(0, 'mdev0', [leak])])?.message).toMatch(/page d0#1:1 has 2 long-term GUP pin\(s\), expected 1 \(iommu_mapped=true, vpfn ref_count=0\)/);
    const acct = unlock('vmm', { op: 'vfio_iommu_type1_detach_group', dmas: [dmaView({ pfn: { 0: 1 } })], gup: { 'd0#1:0': 1 }, driver: { mdev0: { 'd0#1:0': 1 } }, lockedVm: 4 });
    expect(feed(pinBalance, [step(0, 'vmm', [acct])])?.message).toMatch(/locked_vm is 4 when vfio_iommu_type1_detach_group releases iommu->lock, expected 1/);
  });
  it('fails on the unmap BUG_ON', () => {
    expect(feed(pinBalance, [step(0, 'vmm', [o('vmm', 'bug-on', { dma: 'd0', retries: 11 })])])?.message).toMatch(/BUG_ON\(\+\+retries > 10\)/);
  });
  it('fails at the end of a torn-down run with a page still pinned', () => {
    const pins = new PinState({ table: { pins: { 17: ['vpfn:d0#1'] }, dirty: [], lockedVm: { vm: 1 }, pinned: 1, unpinned: 0 }, driver: {}, invalid: {} });
    const t = new Type1State({ tracking: false, counter: 0, pinnedScope: false, mode: 'counter', domains: [], emulated: [], groups: {}, dmas: {}, devList: [], seq: { inst: 1, domain: 0 } });
    const q: QuiescenceView = { step: 9, actors: { vmm: { kind: 'vfio-scope.vmm', value: 'done', context: {} } }, undelivered: [], shared: (n) => (n === PINS ? pins : n === TYPE1 ? t : undefined) };
    expect(feed(pinBalance, [], q)?.message).toMatch(/after teardown, pages are still pinned: 17:vpfn:d0#1/);
  });
  it('accepts a mapped dma with a vpfn pinned by one driver', () => {
    const u = unlock('mdev0', { dmas: [dmaView({ mapped: true, pfn: { 1: 1 } })], gup: { 'd0#1:0': 1, 'd0#1:1': 2, 'd0#1:2': 1, 'd0#1:3': 1 }, driver: { mdev0: { 'd0#1:1': 1 } }, lockedVm: 4 });
    expect(feed(pinBalance, [step(0, 'mdev0', [u])])).toBeNull();
  });
});

describe('group-ref-balance', () => {
  const q = (refs: number): QuiescenceView => ({ step: 9, actors: {}, undelivered: [], shared: (n) => (n === CORE ? new CoreState({ g0: { kind: 'iommu', devices: ['pdev0', 'pdev1'], devCounter: 2, refs, hasPinned: false, open: 0 } }) : undefined) });
  const get = step(3, 'pdev0', [o('pdev0', 'group-ref', { g: 'g0', delta: 1, path: 'vfio_pin_pages' })]);
  it('fails when vfio_pin_pages leaves a reference behind, naming where it was taken', () => {
    expect(feed(groupRefBalance, [get], q(2))?.message).toMatch(/vfio_group g0 ends with refcount 2, expected 1: references taken and never put by vfio_pin_pages@3/);
  });
  it('accepts a get matched by a put', () => {
    expect(feed(groupRefBalance, [get, step(4, 'pdev0', [o('pdev0', 'group-ref', { g: 'g0', delta: -1, path: 'vfio_pin_pages' })])], q(1))).toBeNull();
  });
});

describe('threads-finish', () => {
  it('fails when threads are left blocked, naming state, op and locks', () => {
    const q: QuiescenceView = {
      step: 9,
      actors: {
        vmm: { kind: 'vfio-scope.vmm', value: 'callback', context: { held: [DEVICE_LIST_LOCK], pc: 0, ops: [{ op: 'unmap', dma: 'd0', bitmap: false }] } },
        mdev0: { kind: 'vfio-scope.mdev', value: 'closeLocked', context: { held: [IOMMU_LOCK], pc: 3, ops: [{}, {}, {}, { op: 'close' }] } },
        mig: { kind: 'vfio-scope.mig', value: 'done', context: {} },
      },
      undelivered: [],
    };
    expect(feed(threadsFinish, [], q)?.message).toMatch(/2 have not finished: vmm in callback at .*unmap.* holding vfio.iommu->device_list_lock; mdev0 in closeLocked at .*close.* holding vfio.iommu->lock/);
  });
  it('accepts every thread done', () => {
    expect(feed(threadsFinish, [], { step: 1, actors: { vmm: { kind: 'vfio-scope.vmm', value: 'done', context: {} } }, undelivered: [] })).toBeNull();
  });
});
