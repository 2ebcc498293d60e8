/**
 * no-leak-at-quiescence (kernel/heapLeak.ts) on hand-built traces in the shared heap vocabulary:
 * each rule broken once (it must fail, naming the object and the holder), and the good trace.
 */
import { describe, expect, it } from 'vitest';
import type { ActorObservation, QuiescenceView, StepRecord } from '../../core/model/monitor.ts';
import { heapLeak } from '../../kernel/heapLeak.ts';
import { scenarios } from '../../systems/index.ts';

const step = (i: number, actor: string, obs: Record<string, unknown>[]): StepRecord => ({
  i,
  t: i,
  step: 'x',
  actor,
  event: { type: 'X' },
  before: 's',
  after: 's',
  delivered: null,
  sent: [],
  obs: obs.map((o, seq): ActorObservation => ({ actor, seq, what: String(o.what), ...o })),
  locks: [],
});
const P = 'fault_param:dev0';
const G = 'group:dev0#0';
const quiet: QuiescenceView = { step: 99, actors: { 'iopf.dev0': { kind: 'k', value: 'idle', context: {} }, iommu: { kind: 'k', value: 'idle', context: {} } }, undelivered: [] };

/** The fault parameter with the queue's reference; a group allocated with its own reference. */
const setup = (): StepRecord[] => [
  step(0, 'iopf.dev0', [
    { what: 'alloc', obj: P, owner: 'iommu', by: 'iopf_queue_add_device' },
    { what: 'get', obj: P, owner: 'iommu', by: 'iopf_queue_add_device' },
  ]),
  step(1, 'iopf.dev0', [
    { what: 'alloc', obj: G, owner: P, by: 'iopf_group_alloc' },
    { what: 'get', obj: P, owner: G, by: 'iommu_report_device_fault' },
  ]),
];
const removal = (i: number, free: boolean) =>
  step(i, 'iopf.dev0', [{ what: 'put', obj: P, owner: 'iommu', by: 'iopf_queue_remove_device' }, ...(free ? [{ what: 'free', obj: P, by: 'iopf_queue_remove_device' }] : [])]);

function feed(steps: StepRecord[], q = quiet) {
  const inst = heapLeak.create({});
  for (const s of steps) {
    const v = inst.onStep?.(s);
    if (v) return v;
  }
  return inst.atQuiescence?.(q) ?? null;
}

describe('no-leak-at-quiescence', () => {
  it('is quiet when the group is freed with its put and the removed device\'s fault parameter reaches zero and is freed', () => {
    const freeGroup = step(2, 'iopf.dev0', [{ what: 'free', obj: G }, { what: 'put', obj: P, owner: G, by: 'iopf_put_dev_fault_param' }]);
    expect(feed([...setup(), freeGroup, removal(3, true)])).toBeNull();
    // Not removed: the queue's reference is held by a live actor, the group reachable from the parameter.
    expect(feed(setup())).toBeNull();
  });

  it('fails on a reference not put on a free path: the freed group still holds the fault parameter', () => {
    const v = feed([...setup(), step(2, 'iopf.dev0', [{ what: 'free', obj: G, by: 'iopf_free_group' }]), removal(3, false)]);
    expect(v?.message).toMatch(/leaked reference: fault_param:dev0 \(refcount 1\) is still referenced by group:dev0#0, freed at step 2 by iopf_free_group without putting it/);
  });

  it('fails on a reference taken by a path that returned without putting it', () => {
    const v = feed([...setup(), step(2, 'iopf.dev0', [{ what: 'get', obj: P, owner: 'report_partial_fault' }])]);
    expect(v?.message).toMatch(/still referenced by report_partial_fault, which returned without putting it/);
  });

  it('fails on a put by a holder that holds nothing (underflow), and on a free while references are held', () => {
    expect(feed([...setup(), step(2, 'iopf.dev0', [{ what: 'put', obj: P, owner: 'group:dev0#9', by: 'x' }])])?.message).toMatch(/refcount underflow: x put a reference on fault_param:dev0 that group:dev0#9 does not hold \(held: iommu, group:dev0#0\)/);
    expect(feed([...setup(), removal(2, true)])?.message).toMatch(/iopf_queue_remove_device freed fault_param:dev0 while 1 reference\(s\) are still held by group:dev0#0/);
  });

  it('fails on an object whose owner was freed (unreachable), and on a last put without a free', () => {
    const ownerGone = feed([step(0, 'a', [{ what: 'alloc', obj: 'bitmap:1', owner: 'dma:7', by: 'kvzalloc' }, { what: 'alloc', obj: 'dma:7', by: 'map' }]), step(1, 'a', [{ what: 'free', obj: 'dma:7', by: 'unmap' }])], { ...quiet, actors: { a: quiet.actors.iommu } });
    expect(ownerGone?.message).toMatch(/leak: bitmap:1 \(allocated at step 0 by kvzalloc\) is unreachable: its owner dma:7 was freed at step 1 by unmap/);
    const v = feed([...setup(), step(2, 'iopf.dev0', [{ what: 'free', obj: G }, { what: 'put', obj: P, owner: G }]), removal(3, false)]);
    expect(v?.message).toMatch(/fault_param:dev0's last reference was put but fault_param:dev0 .* was never freed/);
  });
});

describe('every registered scenario', () => {
  it('runs the leak monitor (a new system opts in: docs/architecture.md "Heap objects and the leak monitor")', () => {
    // Not hooked yet, with the reason (to be closed by the system's owner):
    const pending: Record<string, string> = {
      dirty: 'its alloc observations name owners ("vmm#1") that are neither actors nor allocated objects, so every table reads as unreachable',
      'iommufd-flush': 'clean with it (5,000 PCT runs), but vacuous there: its objects name the actor that allocated them as owner, and an actor is always live, so a missing free is never seen (tried: dropping the free of iopt_release_pages ran clean); owners must be objects (area -> pages, hwpt -> domain) first',
      tce: 'merged after the monitor: its pins, regions and TCE levels are counted by its own monitors (pins-balance, region-mapped, one-level-page-per-slot, no-leak-on-release) and do not report alloc/free/get/put yet',
      'vfio-scope': 'reports no heap observations yet (its pin-balance/group-ref-balance count references), and its test wants a variant each monitor catches alone',
    };
    for (const sc of Object.values(scenarios)) {
      const names = sc.monitors.map((m) => m.name);
      if (sc.name in pending) expect(names, `${sc.name} now runs the leak monitor: drop it from pending`).not.toContain(heapLeak.name);
      else expect(names, sc.name).toContain(heapLeak.name);
    }
  });
});
