/**
 * The shared state of one run: the container (type1), the vfio core's groups and the page pins,
 * built in the configuration the workload names: every group attached (IOMMU-backed first, each
 * with its devices; emulated ones after), then every dma mapped (pinned and mapped when a domain
 * exists), as QEMU sets a VM up. The setup runs the same kernel paths as the steps, with no
 * fault injected and no observation filed (the pieces announce the result at step 0).
 */
import type { DataPort } from '../../../core/model/kind.ts';
import type { Params } from '../../../core/model/scenario.ts';
import { type Kernel, attachGroup, mapDma } from '../paths.ts';
import { CoreState, type CoreGroup } from './core.ts';
import { PinState } from './pins.ts';
import { Type1State } from './type1.ts';
import type { ScopeTracking, VfioScopeWorkload } from '../types.ts';

export { CoreState, PinState, Type1State };

const noFaults: DataPort = { int: () => 0, chance: () => false, fault: () => false };

export function initialState(w: VfioScopeWorkload, p: Params): { t: Type1State; core: CoreState; pins: PinState } {
  const t = new Type1State({
    tracking: false,
    counter: 0,
    pinnedScope: false,
    mode: String(p.scopeTracking) as ScopeTracking,
    domains: [],
    emulated: [],
    groups: {},
    dmas: {},
    devList: [],
    seq: { inst: 0, domain: 0 },
  });
  const groups: Record<string, CoreGroup> = {};
  for (const g of w.iommuGroups) groups[g] = { kind: 'iommu', devices: [], devCounter: 0, refs: 1, hasPinned: false, open: 0 };
  for (const g of w.emulatedGroups) groups[g] = { kind: 'emulated', devices: [], devCounter: 0, refs: 1, hasPinned: false, open: 0 };
  for (const d of w.devices) {
    if (d.joiner) continue;
    const c = groups[d.group];
    c.devices.push(d.id);
    c.devCounter++;
    c.open++;
  }
  const core = new CoreState(groups);
  const pins = new PinState({ table: { pins: {}, dirty: [], lockedVm: {}, pinned: 0, unpinned: 0 }, driver: {}, invalid: {} });
  const k: Kernel = {
    t,
    core,
    pins,
    data: noFaults,
    rates: { gupFail: 0, enomem: 0, allocFail: 0, userFault: 0 },
    who: 'setup',
    sharing: p.domainSharing === 'per-group' ? 'per-group' : 'shared',
    pageSize: Number(p.pageSize),
    observe: () => {},
  };
  for (const g of w.iommuGroups) attachGroup(k, g, 'iommu');
  for (const g of w.emulatedGroups) attachGroup(k, g, 'emulated');
  const pages = Number(p.dmaPages);
  w.dmas.forEach((d, i) => mapDma(k, d, i * pages, pages, { allocBitmapWhileTracking: true }));
  return { t, core, pins };
}
