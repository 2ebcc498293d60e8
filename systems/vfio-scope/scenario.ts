/**
 * VFIO type1 pinned-page dirty scope (../shared/seeds/vfio-pinned-page-dirty-scope.txt,
 * drivers/vfio/vfio_iommu_type1.c 6.17-rc and the vfio core): a container with IOMMU-backed and
 * emulated groups, the VMM's map/unmap/attach/detach, the migration thread's DIRTY_PAGES
 * START/GET/STOP, emulated devices pinning and writing through vfio_dma_rw, IOMMU-backed devices
 * DMAing (and joining groups, and in the seed's world pinning).
 */
import type { QuiescenceView } from '../../core/model/monitor.ts';
import type { ActorSpec, Params, Scenario } from '../../core/model/scenario.ts';
import type { LockKind } from '../../core/model/locks.ts';
import { lockdep } from '../../kernel/lockdep.ts';
import { migKind } from './machines/mig.ts';
import { mdevKind, pdevKind } from './machines/device.ts';
import { vmmKind } from './machines/vmm.ts';
import { deriveVfioScope, vfioScopeObserver } from './metrics.ts';
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
} from './specs/index.ts';
import { initialState } from './state/index.ts';
import { DEVICE_LIST_LOCK, IOMMU_LOCK, type SingletonRule, type VfioScopeWorkload, deviceLock } from './types.ts';
import { vfioScopeBugs } from './variants.ts';
import { drawWorkload } from './workload.ts';

/** The actors, locks and shared state of a run from a workload (drawn or written by hand). */
export function buildFromWorkload(w: VfioScopeWorkload, p: Params) {
  const pages = Number(p.dmaPages);
  const layout = Object.fromEntries(w.dmas.map((d, i) => [d, { iova: i * pages, pages }]));
  const groupKinds: Record<string, 'iommu' | 'emulated'> = {};
  for (const g of w.iommuGroups) groupKinds[g] = 'iommu';
  for (const g of w.emulatedGroups) groupKinds[g] = 'emulated';
  const singletonRule = String(p.singleton) as SingletonRule;
  const actors: ActorSpec[] = [
    { id: 'vmm', kind: vmmKind, input: { id: 'vmm', ops: w.vmm, layout, groupKinds, singleton: singletonRule } },
    { id: 'mig', kind: migKind, input: { id: 'mig', ops: w.mig, dmaPages: pages, retryGet: Boolean(p.retryGet) } },
  ];
  for (const d of w.devices) {
    actors.push({
      id: d.id,
      kind: d.kind === 'mdev' ? mdevKind : pdevKind,
      input: { id: d.id, kind: d.kind, group: d.group, ops: w.ops[d.id] ?? [], singleton: singletonRule, member: !d.joiner },
    });
  }
  const locks: { name: string; kind: LockKind }[] = [
    { name: IOMMU_LOCK, kind: 'mutex' },
    { name: DEVICE_LIST_LOCK, kind: 'mutex' },
    ...[...w.iommuGroups, ...w.emulatedGroups].map((g) => ({ name: deviceLock(g), kind: 'mutex' as LockKind })),
  ];
  return {
    actors,
    locks,
    shared: () => {
      const s = initialState(w, p);
      return { states: [s.t, s.core, s.pins] };
    },
  };
}

export const vfioScopeScenario: Scenario = {
  name: 'vfio-scope',
  description: 'VFIO type1 pinned-page dirty scope: groups and num_non_pinned_groups, pin/unpin and vfio_dma_rw, device DMA, per-dma dirty bitmaps, DIRTY_PAGES START/GET/STOP, UNMAP with bitmap, attach/detach, the singleton rule',
  parameters: [
    { name: 'iommuGroups', description: 'IOMMU-backed groups attached at the start (g0..)', type: 'int', default: 1, min: 0, max: 3 },
    { name: 'devicesPerGroup', description: 'devices in each IOMMU-backed group at the start', type: 'int', default: 1, min: 1, max: 2 },
    { name: 'mdevs', description: 'emulated (mdev) devices, each in its own emulated group e0..', type: 'int', default: 1, min: 0, max: 2 },
    { name: 'joins', description: 'devices that join an IOMMU-backed group during the run (their first op)', type: 'int', default: 1, min: 0, max: 2 },
    { name: 'pinners', description: 'who calls vfio_pin_pages: emulated devices (6.1+ contract), the first device of each IOMMU-backed group (the seed\'s world, v5.8-v6.0), or both', type: 'enum', default: 'emulated', values: ['emulated', 'iommu', 'both'] },
    { name: 'dmas', description: 'vfio_dma mappings (d0.., contiguous)', type: 'int', default: 2, min: 1, max: 3 },
    { name: 'dmaPages', description: 'pages per dma (bits per dma bitmap)', type: 'int', default: 4, min: 1, max: 8 },
    { name: 'pageSize', description: 'bytes per page, for vfio_dma_rw offsets (a power of 2)', type: 'enum', default: '4', values: ['2', '4', '8'] },
    { name: 'domainSharing', description: 'shared: IOMMU groups reuse a compatible domain (x86); per-group: a domain each (replay on attach)', type: 'enum', default: 'shared', values: ['shared', 'per-group'] },
    { name: 'opsPerDevice', description: 'operations in each device\'s script', type: 'int', default: 3, min: 1, max: 8 },
    { name: 'vmmOps', description: 'map/unmap/detach/attach operations the VMM makes during the run', type: 'int', default: 2, min: 0, max: 4 },
    { name: 'getRounds', description: 'GET_BITMAP calls between START and STOP', type: 'int', default: 2, min: 1, max: 4 },
    { name: 'teardown', description: 'the VMM unmaps every dma and detaches every group at the end', type: 'boolean', default: true },
    { name: 'retryGet', description: 'the migration thread retries a GET that returned -EFAULT, once', type: 'boolean', default: true },
    { name: 'gupFail', description: 'chance that a pin_user_pages call fails (-EFAULT)', type: 'number', default: 0.05, min: 0, max: 1 },
    { name: 'enomem', description: 'chance that locked_vm accounting hits RLIMIT_MEMLOCK (-ENOMEM)', type: 'number', default: 0.05, min: 0, max: 1 },
    { name: 'allocFail', description: 'chance that a kzalloc/kvzalloc (dma, vpfn, bitmap, group, domain) fails', type: 'number', default: 0.05, min: 0, max: 1 },
    { name: 'userFault', description: 'chance that a copy to/from the user bitmap or a vfio_dma_rw copy faults (-EFAULT)', type: 'number', default: 0.05, min: 0, max: 1 },
    { name: 'scopeTracking', description: 'the dirty-scope summary: counter (num_non_pinned_groups, v5.12+), bool (v5.8-v5.11, walk on change), walk (no summary: walk the groups at every report)', type: 'enum', default: 'counter', values: ['counter', 'bool', 'walk'] },
    { name: 'singleton', description: 'the singleton rule: none (6.1+), pin-only (v5.8-v6.0 unlocked dev_counter check), refuse-join (the seed\'s proposal), reset-on-join', type: 'enum', default: 'none', values: ['none', 'pin-only', 'refuse-join', 'reset-on-join'] },
  ],
  bugs: vfioScopeBugs,
  monitors: [
    lockdep,
    fieldsUnderLock,
    scopeCounterExact,
    scopeMonotone,
    singleton,
    detachPopulatesFull,
    dmaRwExact,
    bitmapLifetime,
    pinBalance,
    noLostDirty,
    groupRefBalance,
    threadsFinish,
  ],
  build(p, _bug, data) {
    return buildFromWorkload(drawWorkload(p, data), p);
  },
  stepEstimate(p) {
    const devices = Number(p.iommuGroups) * Number(p.devicesPerGroup) + Number(p.joins) + Number(p.mdevs);
    return Math.max(20, Math.round(devices * (Number(p.opsPerDevice) + 3) * 1.5 + (Number(p.vmmOps) + Number(p.dmas) + Number(p.iommuGroups) + Number(p.mdevs)) * 2 + Number(p.getRounds) * (Number(p.dmas) + 1) + 4));
  },
  metrics(q: QuiescenceView) {
    const t = q.shared?.('type1') as { s: { dmas: object } } | undefined;
    return { dmasLeftAtEnd: t ? Object.keys(t.s.dmas).length : 0 };
  },
  observer: vfioScopeObserver,
  derive: deriveVfioScope,
};
