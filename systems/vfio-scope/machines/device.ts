/**
 * A device and its driver, in one of two kinds:
 *   vfio-scope.mdev  an emulated (mdev) device in its own emulated group eN (vfio_register_emulated_iommu_dev:
 *                    a fresh iommu_group per device): vfio_pin_pages / vfio_unpin_pages, CPU writes to
 *                    pages it holds pinned, vfio_dma_rw.
 *   vfio-scope.pdev  an IOMMU-backed device in group gK: hardware DMA through the IOMMU (no lock), joining
 *                    the group (a device added to it after the start), and, in the seed's world
 *                    (`pinners=iommu|both`, v5.8-v6.0 IOMMU-backed mdevs), pinning pages to declare its
 *                    dirty scope. Such a pinner DMAs only to pages it holds pinned after its first pin.
 *
 * vfio_pin_pages() (≤6.0 vfio core, then type1 vfio_iommu_type1_pin_pages):
 *   idle     the vfio core part: the singleton check on dev_counter (pin-only: unlocked read;
 *            refuse-join / reset-on-join: under the group's device_lock, held to the end) and
 *            vfio_group_get; with no check (6.1+) it goes straight to the first page under iommu->lock
 *   pinPage  one page under iommu->lock; the last one promotes the group's scope and drops iommu->lock
 *   pinEnd   vfio_group_put, the refuse-join flag, device_lock dropped
 * Lock order: the group's device_lock -> iommu->lock; device_list_lock -> iommu->lock (fixed).
 */
import { guard } from '../../../core/model/kind.ts';
import {
  EBUSY,
  EINVAL,
  OK,
  closeDevice,
  dmaRwChunk,
  groupGet,
  groupPut,
  heldPages,
  joinGroup,
  obs,
  pinPage,
  pinUnwind,
  promoteScope,
  recordPins,
  registerDevice,
  resetScopeOnJoin,
  setHasPinned,
  unpinPages,
  unregisterDevice,
  type Kernel,
} from '../paths.ts';
import { CORE, DEVICE_LIST_LOCK, type DevOp, IOMMU_LOCK, PINS, type SingletonRule, TYPE1, deviceLock } from '../types.ts';
import { type StepResult, type ThreadContext, type ThreadSnap, endOp, held, threadKind, threadMachine } from './thread.ts';

export interface DeviceContext extends ThreadContext {
  ops: DevOp[];
  kind: 'mdev' | 'pdev';
  group: string;
  singleton: SingletonRule;
  /** A member of its group (joiners become one by `join`). */
  member: boolean;
  /** A join was refused: the device never came up. */
  dormant: boolean;
  /** Registered with type1 (a dma_unmap callback). */
  registered: boolean;
  /** A pinner after its first successful pin: it DMAs only to pages it holds pinned. */
  pinnedOnce: boolean;
  /** The vfio_pin_pages call in progress. */
  pin: { dma: string; idx: number; n: number; i: number; pages: string[]; checked: boolean; devLocked: boolean; err: number | null } | null;
  /** The vfio_dma_rw call in progress: the rest of the range. */
  rw: { dma: string; off: number; len: number } | null;
}

export interface DeviceInput {
  id: string;
  kind: 'mdev' | 'pdev';
  group: string;
  ops: DevOp[];
  singleton: SingletonRule;
  member: boolean;
}

/** The named behaviours the variants substitute (defaults: the fixed model; see variants.ts). */
const deviceGuards = {
  /** ≤6.0 vfio_pin_pages: the dev_counter check. 6.1+ (21c13829bc3b): none. */
  checksSingletonAtPin: ({ context }: { context: DeviceContext }) => context.singleton !== 'none',
  /** The check holds the group's device_lock until the pin is over (refuse-join, reset-on-join). */
  checkHoldsDeviceLock: ({ context }: { context: DeviceContext }) => context.singleton === 'refuse-join' || context.singleton === 'reset-on-join',
  /** refuse-join: a successful pin marks the group as having pinned pages. */
  marksGroupPinned: ({ context }: { context: DeviceContext }) => context.singleton === 'refuse-join',
  /** ... and that flag is written under the group's device_lock. */
  setsHasPinnedUnderDeviceLock: () => true,
  /** refuse-join: vfio_group_create_device refuses a device while the group has pinned pages. */
  refusesJoinWhilePinned: ({ context }: { context: DeviceContext }) => context.singleton === 'refuse-join',
  /** reset-on-join: a joining device puts its group back out of pinned scope. */
  resetsScopeOnJoin: ({ context }: { context: DeviceContext }) => context.singleton === 'reset-on-join',
  /** 28b130244061: the -EINVAL of the check puts the group reference it took. */
  putsGroupOnCheckFailure: () => true,
  /** 2e6cfd496f5b: a vpfn kzalloc failure puts the page it pinned. */
  unpinsOnVpfnAllocFailure: () => true,
  /** The scope is promoted only after every page is pinned. */
  promotesAfterAllPages: () => true,
  /** Derived fix: a promotion while tracking populates every bitmap (as detach does). */
  populatesOnPromotion: () => true,
  /** 2c5af98592f6: vfio_dma_rw sets the bits of every page the copy touched. */
  dmaRwCountsFromOffset: () => true,
  /** register/unregister_device take device_list_lock before iommu->lock (the derived fix; 6.17-rc: iommu->lock first). */
  registersListLockFirst: () => true,
};

const STATES = {
  idle: ['idle', 'openLocked', 'joinReset', 'pinPage', 'pinEnd', 'rwChunk', 'closeLocked', 'closeCore', 'done'],
  openLocked: ['idle'],
  joinReset: ['idle'],
  pinPage: ['pinPage', 'pinEnd', 'idle'],
  pinEnd: ['idle'],
  rwChunk: ['rwChunk', 'idle'],
  closeLocked: ['closeCore'],
  closeCore: ['idle'],
};

function machineFor(id: string) {
  return threadMachine<DeviceContext, DeviceInput>({
    id,
    states: STATES,
    context: (i) => ({
      id: i.id,
      held: [],
      pc: 0,
      ops: i.ops,
      kind: i.kind,
      group: i.group,
      singleton: i.singleton,
      member: i.member,
      dormant: false,
      registered: false,
      pinnedOnce: false,
      pin: null,
      rw: null,
    }),
    guards: deviceGuards,
  });
}

export const mdevMachine = machineFor('vfio-scope.mdev');
export const pdevMachine = machineFor('vfio-scope.pdev');

type Snap = ThreadSnap<DeviceContext>;
const op = (s: Snap) => s.context.ops[s.context.pc];

/** The two locks of register/unregister_device, in the order they are taken. */
function registerOrder(snap: Snap): [string, string] {
  return guard(snap, 'registersListLockFirst') ? [DEVICE_LIST_LOCK, IOMMU_LOCK] : [IOMMU_LOCK, DEVICE_LIST_LOCK];
}

/** Whether the op at pc is skipped without any lock (the device never joined its group). */
function skipped(snap: Snap): string | null {
  const c = snap.context;
  const o = op(snap);
  if (!o || o.op === 'join') return null;
  if (o.op === 'close') return c.member ? null : 'the device never became a member of its group';
  if (c.dormant || !c.member) return 'the device is not a member of its group (its join was refused)';
  if (o.op === 'dma' && c.pinnedOnce) return 'a pinner DMAs only to pages it holds pinned after its first pin';
  return null;
}

function acquireOf(snap: Snap): string | null {
  const c = snap.context;
  const o = op(snap);
  switch (snap.value) {
    case 'idle': {
      if (!o || skipped(snap)) return null;
      switch (o.op) {
        case 'open':
          return registerOrder(snap)[0];
        case 'join':
          return deviceLock(c.group);
        case 'pin':
          if (!guard(snap, 'checksSingletonAtPin')) return IOMMU_LOCK;
          return guard(snap, 'checkHoldsDeviceLock') ? deviceLock(c.group) : null;
        case 'unpin':
        case 'rw':
          return IOMMU_LOCK;
        case 'close':
          return c.registered ? registerOrder(snap)[0] : deviceLock(c.group);
        default:
          return null;
      }
    }
    case 'openLocked':
    case 'closeLocked':
      return registerOrder(snap)[1];
    case 'joinReset':
      return IOMMU_LOCK;
    case 'pinPage':
      return c.held.includes(IOMMU_LOCK) ? null : IOMMU_LOCK;
    case 'pinEnd': {
      const p = c.pin!;
      const wantsFlag = p.err === null && guard(snap, 'marksGroupPinned') && guard(snap, 'setsHasPinnedUnderDeviceLock');
      return wantsFlag && !p.devLocked ? deviceLock(c.group) : null;
    }
    case 'closeCore':
      return deviceLock(c.group);
  }
  return null;
}

/** One page of vfio_iommu_type1_pin_pages (iommu->lock held from here on). */
function pinStep(snap: Snap, k: Kernel, acquire: string | null, pin: NonNullable<DeviceContext['pin']>): StepResult {
  const c = snap.context;
  const p = structuredClone(pin);
  const d = k.t.s.dmas[p.dma];
  // The driver never pins a range it was told to invalidate (its dma_unmap callback ran).
  const invalid = d && (k.pins.s.invalid[c.id] ?? []).includes(d.inst);
  const r = invalid ? { ret: EINVAL } : pinPage(k, c.id, p.dma, p.idx + p.i, { leakOnVpfnAllocFail: !guard(snap, 'unpinsOnVpfnAllocFailure') });
  if (r.ret !== OK) {
    pinUnwind(k, p.pages);
    p.err = r.ret;
    obs(k, 'pin-fail', { dev: c.id, g: c.group, err: invalid ? 'invalidated' : String(r.ret) });
    return finishPin(snap, acquire, p, 'vfio_iommu_type1_pin_pages:pin_unwind');
  }
  p.pages.push(r.page!);
  p.i++;
  const last = p.i === p.n;
  if (!guard(snap, 'promotesAfterAllPages') && p.i === 1) promoteScope(k, c.group, { complete: last, populateOnPromotion: guard(snap, 'populatesOnPromotion') });
  if (!last) return { next: 'pinPage', set: { pin: p }, path: 'vfio_iommu_type1_pin_pages' };
  promoteScope(k, c.group, { complete: true, populateOnPromotion: guard(snap, 'populatesOnPromotion') });
  recordPins(k, c.id, p.pages);
  obs(k, 'pin-ok', { dev: c.id, g: c.group, pages: p.pages });
  return finishPin(snap, acquire, p, 'vfio_iommu_type1_pin_pages', { pinnedOnce: true });
}

/** After type1: drop iommu->lock; the vfio core's end of vfio_pin_pages, if it has one. */
function finishPin(snap: Snap, acquire: string | null, p: NonNullable<DeviceContext['pin']>, path: string, set: Record<string, unknown> = {}): StepResult {
  const c = snap.context;
  const needsEnd = p.checked || (p.err === null && guard(snap, 'marksGroupPinned'));
  if (needsEnd) return { next: 'pinEnd', set: { pin: p, ...set }, release: [IOMMU_LOCK], path };
  return endOp(c, acquire, path, { pin: null, ...set });
}

function step(snap: Snap, k: Kernel, acquire: string | null): StepResult {
  const c = snap.context;
  const o = op(snap);
  switch (snap.value) {
    case 'idle': {
      const why = skipped(snap);
      if (why) return { ...endOp(c, acquire, 'skip'), observe: [{ what: 'op-skipped', op: o.op, why }] };
      switch (o.op) {
        case 'open':
          return { next: 'openLocked', path: 'vfio_iommu_type1_register_device' };
        case 'join': {
          const ret = joinGroup(k, c.group, c.id, guard(snap, 'refusesJoinWhilePinned'));
          if (ret === EBUSY) {
            obs(k, 'join', { g: c.group, dev: c.id, result: 'ebusy', devCounter: k.core.s[c.group].devCounter });
            return endOp(c, acquire, 'vfio_group_create_device', { dormant: true });
          }
          if (guard(snap, 'resetsScopeOnJoin')) return { next: 'joinReset', set: { member: true }, path: 'vfio_group_create_device' };
          obs(k, 'join', { g: c.group, dev: c.id, result: 'ok', devCounter: k.core.s[c.group].devCounter });
          return endOp(c, acquire, 'vfio_group_create_device', { member: true });
        }
        case 'pin': {
          const pin = { dma: o.dma, idx: o.idx, n: o.n, i: 0, pages: [] as string[], checked: false, devLocked: acquire === deviceLock(c.group), err: null as number | null };
          if (!guard(snap, 'checksSingletonAtPin')) return pinStep(snap, k, acquire, pin);
          // ≤6.0 vfio_pin_pages: vfio_group_get_from_dev, then `if (group->dev_counter > 1) return -EINVAL`.
          groupGet(k, c.group, 'vfio_pin_pages');
          pin.checked = true;
          const n = k.core.s[c.group].devCounter;
          const ok = c.singleton === 'pin-only' ? n <= 1 : n === 1;
          obs(k, 'singleton-check', { dev: c.id, g: c.group, devCounter: n, locked: pin.devLocked, ok });
          if (!ok) {
            pin.err = EINVAL;
            obs(k, 'pin-fail', { dev: c.id, g: c.group, err: 'singleton' });
            return { next: 'pinEnd', set: { pin }, path: 'vfio_pin_pages' };
          }
          return { next: 'pinPage', set: { pin }, path: 'vfio_pin_pages' };
        }
        case 'unpin': {
          const d = k.t.s.dmas[o.dma];
          const pages = d ? heldPages(k, c.id, d.inst).filter((p) => {
            const idx = Number(p.split(':')[1]);
            return idx >= o.idx && idx < o.idx + o.n;
          }) : [];
          if (pages.length === 0) return { ...endOp(c, acquire, 'vfio_iommu_type1_unpin_pages'), observe: [{ what: 'op-skipped', op: 'unpin', why: 'no pin held in the range' }] };
          unpinPages(k, c.id, pages);
          return endOp(c, acquire, 'vfio_iommu_type1_unpin_pages');
        }
        case 'write': {
          // A CPU write (mdev) or device DMA (IOMMU-backed pinner) into a page it holds pinned.
          const page = Object.keys(k.pins.s.driver[c.id] ?? {}).find((p) => p.startsWith(`${o.dma}#`) && Number(p.split(':')[1]) === o.idx);
          if (!page) return { ...endOp(c, acquire, 'skip'), observe: [{ what: 'op-skipped', op: 'write', why: `no pin of ${o.dma}[${o.idx}] held` }] };
          const inst = page.split(':')[0];
          obs(k, 'dirty-write', { dev: c.id, g: c.group, dma: o.dma, inst, idx: o.idx, via: 'pinned', tracking: k.t.s.tracking });
          return endOp(c, acquire, c.kind === 'mdev' ? 'mdev write to a pinned page' : 'device DMA to a pinned page');
        }
        case 'dma': {
          const grp = k.t.s.groups[c.group];
          const d = k.t.s.dmas[o.dma];
          if (!grp || !grp.domain) obs(k, 'dma-fault', { dev: c.id, dma: o.dma, why: 'group not attached to a domain' });
          else if (!d || !d.mapped) obs(k, 'dma-fault', { dev: c.id, dma: o.dma, why: 'iova not mapped' });
          else obs(k, 'dirty-write', { dev: c.id, g: c.group, dma: o.dma, inst: d.inst, idx: o.idx, via: 'dma', tracking: k.t.s.tracking });
          return endOp(c, acquire, 'device DMA write');
        }
        case 'rw':
          return rwStep(snap, k, acquire, { dma: o.dma, off: o.off, len: o.len });
        case 'close':
          if (c.registered) return { next: 'closeLocked', path: 'vfio_iommu_type1_unregister_device' };
          closeDevice(k, c.group);
          return endOp(c, acquire, 'vfio_device_close');
      }
      throw new Error(`device: unknown op ${JSON.stringify(o)}`);
    }
    case 'openLocked':
      registerDevice(k, c.id);
      return endOp(c, acquire, 'vfio_iommu_type1_register_device', { registered: true });
    case 'joinReset':
      resetScopeOnJoin(k, c.group);
      obs(k, 'join', { g: c.group, dev: c.id, result: 'ok', devCounter: k.core.s[c.group].devCounter });
      return endOp(c, acquire, 'vfio_group_create_device');
    case 'pinPage':
      return pinStep(snap, k, acquire, c.pin!);
    case 'pinEnd': {
      const p = c.pin!;
      if (p.err === null && guard(snap, 'marksGroupPinned')) setHasPinned(k, c.group, true);
      if (p.checked && (p.err === null || guard(snap, 'putsGroupOnCheckFailure'))) groupPut(k, c.group, 'vfio_pin_pages');
      return endOp(c, acquire, 'vfio_pin_pages', { pin: null });
    }
    case 'rwChunk':
      return rwStep(snap, k, acquire, c.rw!);
    case 'closeLocked':
      // The driver unpins what it still holds, then vfio_iommu_type1_unregister_device.
      unpinPages(k, c.id, heldPages(k, c.id));
      unregisterDevice(k, c.id);
      return { next: 'closeCore', set: { registered: false }, release: held(c, acquire), path: 'vfio_iommu_type1_unregister_device' };
    case 'closeCore':
      closeDevice(k, c.group);
      return endOp(c, acquire, 'vfio_device_close');
  }
  throw new Error(`device: no step in state ${String(snap.value)}`);
}

/** One chunk of vfio_dma_rw (write), iommu->lock held; the range may run on into the next dma. */
function rwStep(snap: Snap, k: Kernel, acquire: string | null, rw: { dma: string; off: number; len: number }): StepResult {
  const c = snap.context;
  const r = dmaRwChunk(k, c.id, c.group, rw.dma, rw.off, rw.len, { countFromOffset: guard(snap, 'dmaRwCountsFromOffset') });
  const rest = rw.len - r.done;
  if (r.ret === OK && rest > 0) {
    const d = k.t.s.dmas[rw.dma];
    const next = k.t.dmaNames().find((n) => k.t.s.dmas[n].iova === d.iova + d.pages);
    if (next) return { next: 'rwChunk', set: { rw: { dma: next, off: 0, len: rest } }, path: 'vfio_iommu_type1_dma_rw' };
  }
  return endOp(c, acquire, 'vfio_iommu_type1_dma_rw', { rw: null });
}

function touches(snap: Snap): { reads?: string[]; writes?: string[] } {
  const c = snap.context;
  const o = op(snap);
  if (snap.value !== 'idle' || !o) return snap.value === 'closeCore' || snap.value === 'pinEnd' ? { reads: [`${CORE}:${c.group}`], writes: [`${CORE}:${c.group}`] } : {};
  switch (o.op) {
    case 'write':
      return { reads: [`${PINS}:driver:${c.id}`, TYPE1] };
    case 'dma':
      return { reads: [TYPE1] };
    case 'join':
      return { reads: [CORE, TYPE1, PINS], writes: [`${CORE}:${c.group}`] };
    case 'pin':
    case 'close':
      return { reads: [`${CORE}:${c.group}`], writes: [`${CORE}:${c.group}`] };
    default:
      return {};
  }
}

function label(snap: Snap): string {
  const o = op(snap);
  const what = !o ? '' : 'dma' in o ? `${o.op} ${o.dma}${'idx' in o ? `[${o.idx}${'n' in o && o.n > 1 ? `+${o.n}` : ''}]` : ''}` : o.op;
  return `${String(snap.value)}:${what}`;
}

const common = { acquireOf, step, touches, label };

export const mdevKind = threadKind<DeviceContext>({ kind: 'vfio-scope.mdev', machine: mdevMachine, ...common });
export const pdevKind = threadKind<DeviceContext>({ kind: 'vfio-scope.pdev', machine: pdevMachine, ...common });
