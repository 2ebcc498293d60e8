/**
 * Names, the workload vocabulary and the observation vocabulary of the VFIO type1 pinned-page
 * dirty-scope model (drivers/vfio/vfio_iommu_type1.c and the vfio core, 6.17-rc; older semantics
 * per variant, see variants.ts).
 */

/** struct vfio_iommu.lock: every type1 field below is written under it (a mutex). */
export const IOMMU_LOCK = 'vfio.iommu->lock';
/**
 * struct vfio_iommu.device_list_lock: iteration of iommu->device_list for dma_unmap callbacks;
 * the list itself is written with both it and iommu->lock held (vfio_iommu_type1_register_device).
 */
export const DEVICE_LIST_LOCK = 'vfio.iommu->device_list_lock';
/** struct vfio_group.device_lock of group `g` (vfio core): devices, dev_counter, the refuse-join flag. */
export function deviceLock(g: string): string {
  return `vfio.${g}.device_lock`;
}

/** Names of the scenario's shared-state pieces. */
export const TYPE1 = 'type1';
export const CORE = 'vfiocore';
export const PINS = 'pins';

/** BITS_PER_LONG: update_user_bitmap() shifts within u64 words. */
export const BITS_PER_LONG = 64;

export type ScopeTracking = 'counter' | 'bool' | 'walk';
export type SingletonRule = 'none' | 'pin-only' | 'refuse-join' | 'reset-on-join';
export type Pinners = 'emulated' | 'iommu' | 'both';

// ---------------------------------------------------------------- workload (plain JSON data)

export type VmmOp =
  | { op: 'map'; dma: string }
  | { op: 'unmap'; dma: string; bitmap: boolean }
  | { op: 'attach'; group: string }
  | { op: 'detach'; group: string };

export type MigOp = { op: 'start' } | { op: 'get'; from: number; to: number } | { op: 'stop' };

/** Operations of a device actor: its driver's calls into vfio, or the hardware's DMA. */
export type DevOp =
  | { op: 'open' }
  | { op: 'join' }
  | { op: 'pin'; dma: string; idx: number; n: number }
  | { op: 'unpin'; dma: string; idx: number; n: number }
  | { op: 'write'; dma: string; idx: number }
  | { op: 'rw'; dma: string; off: number; len: number }
  | { op: 'dma'; dma: string; idx: number }
  | { op: 'close' };

export interface DeviceSpec {
  id: string;
  kind: 'mdev' | 'pdev';
  group: string;
  /** Not a member of its group at the start: its first op is `join`. */
  joiner: boolean;
  /** Calls vfio_pin_pages (and so registers a dma_unmap callback). */
  pinner: boolean;
}

export interface VfioScopeWorkload {
  /** IOMMU-backed groups g0.. and emulated groups e0.., attached at the start. */
  iommuGroups: string[];
  emulatedGroups: string[];
  dmas: string[];
  devices: DeviceSpec[];
  vmm: VmmOp[];
  mig: MigOp[];
  ops: Record<string, DevOp[]>;
}

// ---------------------------------------------------------------- observations

export interface GroupView {
  g: string;
  kind: 'iommu' | 'emulated';
  scope: boolean;
}

export interface DmaView {
  dma: string;
  inst: string;
  pages: number;
  mapped: boolean;
  /** vpfn ref_count by page index. */
  pfn: Record<string, number>;
  /** LSB-first, the dma's first `pages` bits (null: no bitmap). */
  bitmap: string | null;
  /** Bits set beyond `pages` (the 64 spare bits vfio_dma_bitmap_alloc() adds). */
  extra: number;
}

/** What the system observes; monitors read it through `observed<VfioObs, K>()`. */
export type VfioObs = {
  /** A write of a field with a documented lock (type1: iommu->lock; core: the group's device_lock). */
  'field-write': { obj: 'type1' | 'core'; field: string; key?: string };
  /** The state at a release of iommu->lock. */
  'iommu-unlock': {
    op: string;
    counter: number;
    pinnedScope: boolean;
    mode: ScopeTracking;
    tracking: boolean;
    lockedVm: number;
    domains: number;
    groups: GroupView[];
    dmas: DmaView[];
    /** Long-term GUP pins by page ("inst:idx"). */
    gup: Record<string, number>;
    /** The drivers' own tables of pages they pinned through vfio_pin_pages, by device. */
    driver: Record<string, Record<string, number>>;
  };
  'scope-change': { g: string; kind: 'iommu' | 'emulated'; from: boolean; to: boolean; cause: 'pin' | 'attach' | 'join'; pinComplete: boolean; devCounter: number };
  'group-attach': { g: string; kind: 'iommu' | 'emulated'; scope: boolean; domain: string | null };
  'group-detach': { g: string; kind: 'iommu' | 'emulated'; scopeWas: boolean; tracking: boolean; updated: boolean; bitmaps: Record<string, string> };
  'core-init': { g: string; devices: string[]; devCounter: number };
  join: { g: string; dev: string; result: 'ok' | 'ebusy'; devCounter: number };
  'singleton-check': { dev: string; g: string; devCounter: number; locked: boolean; ok: boolean };
  'dirty-write': { dev: string; g: string; dma: string; inst: string; idx: number; via: 'dma' | 'pinned' | 'dma_rw'; tracking: boolean };
  'dma-fault': { dev: string; dma: string; why: string };
  'bitmap-report': { op: 'get' | 'unmap'; dma: string; inst: string; bits: number[]; nbits: number };
  'get-done': { ret: number };
  tracking: { on: boolean };
  'dma-map': { dma: string; inst: string; pages: number; mapped: boolean };
  'dma-removed': { dma: string; inst: string; reported: boolean; by: string };
  'dma-rw': { dev: string; dma: string; inst: string; offset: number; copied: number; pgshift: number; setStart: number; setCount: number; tracking: boolean };
  'bitmap-alloc': { inst: string; nbits: number; by: string };
  'bitmap-free': { inst: string; by: string };
  'bitmap-use': { inst: string; by: string; present: boolean };
  'populate-full': { dmas: string[] };
  'pin-ok': { dev: string; g: string; pages: string[] };
  'pin-fail': { dev: string; g: string; err: string };
  unpin: { dev: string; pages: string[] };
  'group-ref': { g: string; delta: number; path: string };
  'scope-visit': { n: number; by: 'pin' | 'get' | 'attach' | 'detach' | 'join' };
  'op-skipped': { op: string; why: string };
  'bug-on': { dma: string; retries: number };
  'might-sleep': { path: string };
  'might-fault': { path: string };
};

/** A page's global name: the dma instance (changes at every MAP) and the index in it. */
export function pageId(inst: string, idx: number): string {
  return `${inst}:${idx}`;
}
