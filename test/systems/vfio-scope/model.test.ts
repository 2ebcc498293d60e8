/**
 * The machines driven by hand-written workloads (the same `buildFromWorkload` a drawn workload
 * goes through) under a scripted schedule: the interleavings the variants need, step by step,
 * with the fixed model staying clean on the same script. Plus footprints, snapshot/restore and
 * determinism.
 */
import { describe, expect, it } from 'vitest';
import { DataSource } from '../../../core/dataSource.ts';
import { exploreRange } from '../../../core/explore.ts';
import { runOnce } from '../../../core/run.ts';
import type { Choice, DataDraw, Strategy } from '../../../core/strategies/strategy.ts';
import { RandomWalk } from '../../../core/strategies/random.ts';
import { World } from '../../../core/world.ts';
import type { Params, Scenario } from '../../../core/model/scenario.ts';
import { buildFromWorkload } from '../../../systems/vfio-scope/index.ts';
import type { VfioScopeWorkload } from '../../../systems/vfio-scope/types.ts';
import type { StepRecord } from '../../../core/model/monitor.ts';
import { defaults, scenario } from './helpers.ts';

/** Runs the threads in the order given (one step each), then the first enabled step; no fault unless named. */
class Scripted implements Strategy {
  readonly name = 'scripted';
  private i = 0;
  constructor(
    private readonly order: string[],
    private readonly faults: string[] = [],
  ) {}
  newExecution(): void {
    this.i = 0;
  }
  choose(enabled: readonly Choice[]): number {
    while (this.i < this.order.length) {
      const want = this.order[this.i++];
      const k = enabled.findIndex((c) => c.thread === want);
      if (k >= 0) return k;
      throw new Error(`script: ${want} has no enabled step (enabled: ${enabled.map((c) => c.key).join(', ')})`);
    }
    return 0;
  }
  chooseData(d: DataDraw): number {
    return d.fault && this.faults.some((f) => d.label.startsWith(f)) ? 1 : 0;
  }
}

function withWorkload(w: VfioScopeWorkload, dropMonitors: string[] = []): Scenario {
  return { ...scenario, monitors: scenario.monitors.filter((m) => !dropMonitors.includes(m.name)), build: (p) => buildFromWorkload(w, p) };
}

function run(s: Scenario, params: Params, bug: string | null, order: string[], faults: string[] = []) {
  const recs: StepRecord[] = [];
  const r = runOnce({ scenario: s, params, bug, seed: 1, strategy: new Scripted(order, faults), maxSteps: 500, checkFootprints: true, onStep: (rec) => recs.push(rec) });
  return { r, recs, obs: (what: string) => recs.flatMap((x) => x.obs.filter((o) => o.what === what)) };
}

const base = (over: Partial<VfioScopeWorkload>): VfioScopeWorkload => ({
  iommuGroups: ['g0'],
  emulatedGroups: ['e0'],
  dmas: ['d0'],
  devices: [
    { id: 'pdev0', kind: 'pdev', group: 'g0', joiner: false, pinner: false },
    { id: 'mdev0', kind: 'mdev', group: 'e0', joiner: false, pinner: true },
  ],
  vmm: [],
  mig: [{ op: 'start' }, { op: 'get', from: 0, to: 0 }, { op: 'stop' }],
  ops: { pdev0: [{ op: 'close' }], mdev0: [{ op: 'close' }] },
  ...over,
});

describe('detach of a non-pinned group while tracking (d0a78f91761f)', () => {
  const w = base({ vmm: [{ op: 'detach', group: 'g0' }], ops: { pdev0: [{ op: 'dma', dma: 'd0', idx: 2 }, { op: 'close' }], mdev0: [{ op: 'close' }] } });
  const order = ['mig', 'pdev0', 'pdev0', 'vmm', 'mig', 'mig'];
  const params = defaults({ vmmOps: 1, teardown: false });

  it('fixed: the detach populates every bit, the GET reports the DMA, num_non_pinned_groups 1 -> 0', () => {
    const { r, obs } = run(withWorkload(w), params, null, order);
    expect(r.violation).toBeNull();
    expect(r.quiescent).toBe(true);
    expect(obs('group-detach')[0]).toMatchObject({ g: 'g0', scopeWas: false, tracking: true, updated: true, bitmaps: { d0: '1111' } });
    expect(obs('bitmap-report')[0]).toMatchObject({ dma: 'd0', bits: [0, 1, 2, 3] });
    const unlocks = obs('iommu-unlock');
    expect(unlocks.find((u) => u.op === 'vfio_iommu_type1_detach_group')).toMatchObject({ counter: 0, domains: 0 });
  });

  it('detach-loses-dirty: the counter drops without populate; the DMA to d0[2] is missing from the GET', () => {
    const { r } = run(withWorkload(w, ['detach-populates-full']), params, 'detach-loses-dirty', order);
    expect(r.violation?.monitor).toBe('no-lost-dirty');
    expect(r.violation?.message).toMatch(/page d0#1:2 \(dma d0\) written by pdev0 via dma .* missing from the GET_BITMAP report .* \(reported bits \[\] of 4\)/);
  });
});

describe('vfio_notify_dma_unmap lock order (derived, 6.17-rc)', () => {
  const w = base({
    iommuGroups: [],
    devices: [{ id: 'mdev0', kind: 'mdev', group: 'e0', joiner: false, pinner: true }],
    vmm: [{ op: 'unmap', dma: 'd0', bitmap: false }],
    mig: [],
    ops: { mdev0: [{ op: 'open' }, { op: 'pin', dma: 'd0', idx: 1, n: 1 }, { op: 'close' }] },
  });
  // mdev0 registers (2 steps) and pins d0[1]; the VMM unmaps d0: its check, then the notify window.
  const toNotify = ['mdev0', 'mdev0', 'mdev0', 'vmm', 'vmm'];
  const params = defaults({ iommuGroups: 0, vmmOps: 1, teardown: false });

  it('6.17 order: lockdep sees the callback take iommu->lock under device_list_lock, the reverse of the notify', () => {
    const { r } = run(withWorkload(w), params, 'unmap-notify-lock-order', [...toNotify, 'vmm']);
    expect(r.violation?.monitor).toBe('lockdep');
    expect(r.violation?.message).toMatch(/lock order inversion: vfio_unpin_pages takes vfio.iommu->lock while holding vfio.iommu->device_list_lock, but .* took vfio.iommu->device_list_lock while holding vfio.iommu->lock/);
  });

  it('6.17 order: the unmap callback and the closing device (unregister_device) deadlock (lockdep off)', () => {
    const { r } = run(withWorkload(w, ['lockdep']), params, 'unmap-notify-lock-order', [...toNotify, 'mdev0']);
    expect(r.violation?.monitor).toBe('threads-finish');
    expect(r.violation?.message).toMatch(/vmm in callback .* holding vfio.iommu->device_list_lock; mdev0 in closeLocked .* holding vfio.iommu->lock/);
  });

  it('fixed order (device_list_lock -> iommu->lock): the same threads finish, the dma goes after the callback', () => {
    const { r, obs } = run(withWorkload(w), params, null, toNotify);
    expect(r.violation).toBeNull();
    expect(r.quiescent).toBe(true);
    expect(obs('unpin')[0]).toMatchObject({ dev: 'mdev0', pages: ['d0#1:1'] });
    expect(obs('dma-removed')[0]).toMatchObject({ dma: 'd0', reported: false });
  });
});

describe('the singleton rule', () => {
  const w = base({
    emulatedGroups: [],
    devices: [
      { id: 'pdev0', kind: 'pdev', group: 'g0', joiner: false, pinner: true },
      { id: 'pdev1', kind: 'pdev', group: 'g0', joiner: true, pinner: false },
    ],
    mig: [],
    ops: { pdev0: [{ op: 'open' }, { op: 'pin', dma: 'd0', idx: 0, n: 1 }, { op: 'close' }], pdev1: [{ op: 'join' }, { op: 'dma', dma: 'd0', idx: 3 }, { op: 'close' }] },
  });
  const params = defaults({ pinners: 'iommu', singleton: 'refuse-join', mdevs: 0, teardown: false });
  // pdev0 registers, checks (device_lock held), pins d0[0] (promotes), ends; pdev1 tries to join.
  const order = ['pdev0', 'pdev0', 'pdev0', 'pdev0', 'pdev0', 'pdev1'];

  it('refuse-join: the join after the pin is refused (-EBUSY) and the device stays out', () => {
    const { r, obs } = run(withWorkload(w), params, null, order);
    expect(r.violation).toBeNull();
    expect(obs('join')[0]).toMatchObject({ dev: 'pdev1', result: 'ebusy' });
    expect(obs('op-skipped').length).toBeGreaterThan(0);
  });

  it('join-after-pin: the join succeeds into a group in pinned scope', () => {
    const { r } = run(withWorkload(w), params, 'join-after-pin', order);
    expect(r.violation?.monitor).toBe('singleton');
  });

  it('reset-on-join: the join demotes the scope again (num_non_pinned_groups back to 1)', () => {
    const { r, obs } = run(withWorkload(w), defaults({ pinners: 'iommu', singleton: 'reset-on-join', mdevs: 0, teardown: false }), null, [...order, 'pdev1']);
    expect(r.violation).toBeNull();
    expect(obs('scope-change').map((c) => `${c.cause}:${c.to}`)).toEqual(['pin:true', 'join:false']);
  });

  it('singleton-check-race: a join between the unlocked check and the promotion gets through', () => {
    // pdev0: open (2 steps), the unlocked check; pdev1 joins; pdev0 pins and promotes.
    const { r } = run(withWorkload(w), params, 'singleton-check-race', ['pdev0', 'pdev0', 'pdev0', 'pdev1', 'pdev0']);
    expect(r.violation?.monitor).toBe('singleton');
    expect(r.violation?.message).toMatch(/g0 entered pinned scope by a pin while it has 2 devices/);
  });
});

describe('update_user_bitmap after -EFAULT (derived, 6.17-rc)', () => {
  const w = base({
    iommuGroups: [],
    dmas: ['d0', 'd1'],
    devices: [{ id: 'mdev0', kind: 'mdev', group: 'e0', joiner: false, pinner: true }],
    mig: [{ op: 'start' }, { op: 'get', from: 0, to: 1 }, { op: 'stop' }],
    ops: { mdev0: [{ op: 'rw', dma: 'd1', off: 4, len: 1 }, { op: 'close' }] },
  });
  // START; vfio_dma_rw dirties d1[1]; GET d0..d1 faults on d1 (shift 4), is retried.
  const order = ['mig', 'mdev0', 'mig', 'mig', 'mig', 'mig', 'mig', 'mig'];
  const params = defaults({ iommuGroups: 0, dmas: 2, teardown: false });

  it('fixed (scratch copy): the retried GET reports d1[1]', () => {
    const { r, obs } = run(withWorkload(w), params, null, order, ['user-copy:get2:d1']);
    expect(r.violation).toBeNull();
    expect(obs('get-done').map((g) => g.ret)).toEqual([-14, 0]);
    expect(obs('bitmap-report').filter((b) => b.dma === 'd1').map((b) => b.bits)).toEqual([[1]]);
  });

  it('in place: the retried GET shifts again, d1[1] is lost', () => {
    const { r } = run(withWorkload(w), params, 'get-efault-shifted-bitmap', order, ['user-copy:get2:d1']);
    expect(r.violation?.monitor).toBe('no-lost-dirty');
    expect(r.violation?.message).toMatch(/page d1#2:1 \(dma d1\) written by mdev0 via dma_rw .* \(reported bits \[\] of 4\)/);
  });
});

describe('vfio_dma_rw sets the pages it touched (2c5af98592f6)', () => {
  // An mdev-only container (no non-pinned group: the all-dirty fill would hide the count);
  // pageSize 4: a 2-byte write at offset 7 touches pages 1 and 2.
  const w = base({
    iommuGroups: [],
    devices: [{ id: 'mdev0', kind: 'mdev', group: 'e0', joiner: false, pinner: true }],
    ops: { mdev0: [{ op: 'rw', dma: 'd0', off: 7, len: 2 }, { op: 'close' }] },
  });
  const order = ['mig', 'mdev0', 'mig', 'mig', 'mig'];
  const params = defaults({ iommuGroups: 0, joins: 0, pageSize: '4', teardown: false });

  it('fixed: bits 1..2 are set and the GET reports them', () => {
    const { r, obs } = run(withWorkload(w), params, null, order);
    expect(r.violation).toBeNull();
    expect(obs('dma-rw')[0]).toMatchObject({ dev: 'mdev0', dma: 'd0', offset: 7, copied: 2, pgshift: 2, setStart: 1, setCount: 2 });
    expect(obs('bitmap-report').filter((b) => b.dma === 'd0').map((b) => b.bits)).toEqual([[1, 2]]);
  });

  it('dma-rw-count: copied >> pgshift = 0 bits set; both pages lost (no-lost-dirty with dma-rw-exact off)', () => {
    const exact = run(withWorkload(w), params, 'dma-rw-count', order);
    expect(exact.r.violation?.monitor).toBe('dma-rw-exact');
    expect(exact.r.violation?.message).toBe('vfio_dma_rw by mdev0 wrote 2 byte(s) at offset 7 of d0#1 (pages 1..2) but set bits none');
    const lost = run(withWorkload(w, ['dma-rw-exact']), params, 'dma-rw-count', order);
    expect(lost.r.violation?.monitor).toBe('no-lost-dirty');
    expect(lost.r.violation?.message).toMatch(/page d0#1:1 \(dma d0\) written by mdev0 via dma_rw .* \(reported bits \[\] of 4\)/);
  });
});

describe('detach of one of two groups sharing a domain (the refactor\'s early return)', () => {
  // g0 and g1 share one domain, neither in pinned scope (num_non_pinned_groups 2); g0's device closes, the VMM detaches g0.
  const w = base({
    iommuGroups: ['g0', 'g1'],
    emulatedGroups: [],
    devices: [
      { id: 'pdev0', kind: 'pdev', group: 'g0', joiner: false, pinner: false },
      { id: 'pdev1', kind: 'pdev', group: 'g1', joiner: false, pinner: false },
    ],
    vmm: [{ op: 'detach', group: 'g0' }],
    mig: [],
    ops: { pdev0: [{ op: 'close' }], pdev1: [{ op: 'close' }] },
  });
  const order = ['pdev0', 'vmm'];
  const params = defaults({ iommuGroups: 2, mdevs: 0, joins: 0, domainSharing: 'shared', vmmOps: 1, teardown: false });

  it('fixed: the domain stays for g1 and num_non_pinned_groups goes 2 -> 1', () => {
    const { r, obs } = run(withWorkload(w), params, null, order);
    expect(r.violation).toBeNull();
    expect(obs('iommu-unlock').find((u) => u.op === 'vfio_iommu_type1_detach_group')).toMatchObject({ counter: 1, domains: 1 });
  });

  it('detach-early-return-skips-scope: the counter stays 2 with one group attached', () => {
    const { r } = run(withWorkload(w), params, 'detach-early-return-skips-scope', order);
    expect(r.violation?.monitor).toBe('scope-counter-exact');
    expect(r.violation?.message).toMatch(/^num_non_pinned_groups is 2 when vfio_iommu_type1_detach_group releases iommu->lock, but 1 attached group\(s\) are not in pinned scope/);
  });
});

describe('footprints, snapshots, determinism', () => {
  const configs: Params[] = [{}, { pinners: 'both', singleton: 'refuse-join', iommuGroups: 2, joins: 2 }, { scopeTracking: 'bool', singleton: 'reset-on-join', pinners: 'iommu', domainSharing: 'per-group', iommuGroups: 2, vmmOps: 4 }, { iommuGroups: 0, mdevs: 2, scopeTracking: 'walk' }];
  for (const over of configs) {
    it(`every step stays inside its declared footprint (${JSON.stringify(over)}, 100 runs)`, () => {
      const params = defaults(over);
      const strategy = new RandomWalk();
      for (let i = 0; i < 100; i++) {
        const r = runOnce({ scenario, params, bug: null, seed: 1000 + i, strategy, maxSteps: 2000, checkFootprints: true });
        expect(r.error).toBeUndefined();
      }
    });
  }

  it('every variant\'s steps stay inside their footprints too (25 runs each)', () => {
    const strategy = new RandomWalk();
    for (const b of scenario.bugs) {
      const params = defaults(b.params);
      for (let i = 0; i < 25; i++) {
        const r = runOnce({ scenario, params, bug: b.name, seed: 2000 + i, strategy, maxSteps: 2000, checkFootprints: true });
        expect(r.error, b.name).toBeUndefined();
      }
    }
  });

  it('every lock and shared piece that decides whether a step can run is in its footprint', () => {
    const missing = new Set<string>();
    const strategy = new RandomWalk();
    for (const bug of [null, ...scenario.bugs.map((b) => b.name)]) {
      const params = defaults(scenario.bugs.find((b) => b.name === bug)?.params);
      for (let i = 0; i < (bug ? 5 : 40); i++) {
        runOnce({
          scenario,
          params,
          bug,
          seed: 3000 + i,
          strategy,
          maxSteps: 2000,
          onStep: (_rec, world) => {
            for (const step of world.enabled()) {
              if (step.type !== 'internal') continue;
              const m = world.members.find((x) => x.id === step.thread)!;
              const tested = new Set<string>();
              m.kind.offers(m.snap, { canTake: (l: string) => (tested.add(l), world.locks.canTake(l)), shared: <T>(n: string): T => (tested.add(n), world.shared.find((x) => x.name === n) as T) });
              const fp = world.footprint(step);
              const declared = [...fp.locks, ...fp.reads, ...fp.writes];
              for (const t of tested) if (!declared.some((d) => d === t || d.startsWith(`${t}:`))) missing.add(`${bug ?? 'fixed'}: ${step.key} tests ${t}`);
            }
          },
        });
      }
    }
    expect([...missing]).toEqual([]);
  });

  it('a world restored from a snapshot hashes and continues exactly as before', () => {
    const params = defaults({ pinners: 'both', singleton: 'refuse-join' });
    const strategy = new RandomWalk();
    strategy.newExecution({ run: 0, seed: 7 });
    const world = new World(scenario, params, null, new DataSource(strategy));
    for (let i = 0; i < 8; i++) world.execute(world.enabled()[0], i);
    const snap = world.snapshot();
    const h = world.hash();
    const keys: string[] = [];
    for (let i = 8; i < 20 && world.enabled().length; i++) {
      const e = world.enabled();
      const pick = e[e.length - 1];
      keys.push(pick.key);
      world.execute(pick, i);
    }
    const after = world.hash();
    world.restore(snap);
    expect(world.hash()).toBe(h);
    for (let i = 0; i < keys.length; i++) {
      const pick = world.enabled().find((e) => e.key === keys[i])!;
      world.execute(pick, 8 + i);
    }
    expect(world.hash()).toBe(after);
  });

  it('a run is a pure function of its seed: same digest twice', () => {
    const o = { scenario, params: defaults(), bug: null, runs: 30, seed: 5, strategy: 'pct' as const, depth: 3, maxSteps: 20000 };
    const a = exploreRange(o, { from: 0, to: 30 }).traceHashes;
    const b = exploreRange(o, { from: 0, to: 30 }).traceHashes;
    expect(a).toEqual(b);
  });
});
