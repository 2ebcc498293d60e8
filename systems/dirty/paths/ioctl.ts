/**
 * The iommufd ioctl paths a userspace thread runs, step by step, shared by the VMM and the hotplug
 * thread (io_pagetable.c, K unless noted):
 *  - IOAS_MAP   iopt_map_pages (F12): insert the area (iova_rwsem write), fill the domain under
 *    domains_rwsem read only (__arm_lpae_map, one table or one leaf per step), publish area->pages.
 *  - IOAS_UNMAP iopt_unmap_iova_range (F13): revoke (userspace), GET_DIRTY_BITMAP of the area
 *    (QEMU's practice, `readsBeforeUnmap`), pages = NULL under iova_rwsem write, unfill without it
 *    (__arm_lpae_unmap, one descriptor per step), the gather's TLBI, remove the area.
 *  - SET_DIRTY_TRACKING iopt_set_dirty_tracking (F9): under iova_rwsem read, read_and_clear every
 *    area with pages (bitmap NULL), iommu_iotlb_sync, then ops->set_dirty_tracking.
 *  - GET_DIRTY_BITMAP iopt_read_and_clear_dirty_data (F10): under iova_rwsem read, iova_bitmap
 *    over the user buffer, the walker per contiguous area, iommu_iotlb_sync unless NO_CLEAR.
 *  - an in-kernel iommu_unmap of part of a block (pre-6.13 split_blk_unmap, F6/F7), hotplug only.
 * With split != none and splitLock = vfio, every ioctl first takes the vfio mutex (the seed's
 * `iommu->lock`) and holds it to its end.
 */
import type { EventObject } from 'xstate';
import type { StepCtx, ThreadLocal } from '../machines/thread.ts';
import {
  type Area,
  type HotplugOp,
  IOPT,
  LOCK_DOMAINS,
  LOCK_IOVA,
  LOCK_VFIO,
  PT,
  type Pte,
  TLB,
  UBUF,
  type VmmOp,
  entrySize,
  ioSpace,
  levelOf,
  lvlIdx,
  pgsizeFor,
  pteText,
  writeableDirty,
} from '../types.ts';
import { ROOT } from '../state/pgtable.ts';
import { VFIO_DROP, VFIO_TAKE, step, tlbiRange, updateTransitional } from './common.ts';
import { type Gather, type Walk, contigPieces, newWalk, visitStep, walkDone } from './walker.ts';
import { type BitmapPort, type IovaBitmap, bitmapAdvance, bitmapAlloc, bitmapDone, bitmapGet, bitmapSetChunked, bitmapSetDynamic, chunkRange } from './iovaBitmap.ts';

export interface MapLocal {
  id: string;
  area: string;
  iova: number;
  pages: number;
  pa: number;
  units: { iova: number; size: number }[];
  ui: number;
  installed: { table: string; idx: number; lvl: number; start: number; size: number }[];
  domains: boolean;
  rc: number;
}

export interface UnmapLocal {
  id: string;
  area: string;
  iova: number;
  pages: number;
  chunks: { iova: number; size: number }[];
  ci: number;
  gather: { start: number; end: number } | null;
}

/** A GET_DIRTY_BITMAP operation of the workload: one ioctl per run of contiguous live areas. */
export interface GetOpLocal {
  range: 'areas' | { iova: number; pages: number };
  noClear: boolean;
  runs: [number, number][] | null;
  ri: number;
  retries: number;
  /** Where the thread goes when the operation is over: its next op, or on with an unmap. */
  then: 'op' | 'unmap';
}

/** One GET_DIRTY_BITMAP ioctl. */
export interface GetLocal {
  id: string;
  iova: number;
  pages: number;
  noClear: boolean;
  rc: number;
  cause: string;
  bm: IovaBitmap | null;
  walk: Walk | null;
  /** The contiguous areas stop before the end of the range (F11): -EINVAL after the walk. */
  hole: boolean;
  gather: Gather | null;
  records: [number, number][];
}

export interface SetLocal {
  id: string;
  enable: boolean;
  rc: number;
  walk: Walk | null;
  gather: Gather | null;
}

export interface PartialLocal {
  id: string;
  iova: number;
  pages: number;
  slot: { table: string; idx: number; lvl: number; start: number; size: number } | null;
  blk: Pte | null;
  table: string | null;
}

export interface IoctlLocal extends ThreadLocal {
  ops: (VmmOp | HotplugOp)[];
  i: number;
  /** Ioctls issued so far (their ids: "<actor>#<n>"). */
  n: number;
  bitmapOffset: number;
  splitter: string;
  /** The hotplug thread writes hotplugDone when its list is over. */
  signalsDone: boolean;
  map: MapLocal | null;
  unmap: UnmapLocal | null;
  getOp: GetOpLocal | null;
  get: GetLocal | null;
  set: SetLocal | null;
  pu: PartialLocal | null;
  aborted: boolean;
}

const EINVAL = -22;
const ENOMEM = -12;
const EEXIST = -17;
const ENOENT = -2;
const EBUSY = -16;

/** The behaviours (named guards) every ioctl thread has, with the fixed model's values. */
export const IOCTL_BEHAVIOURS = {
  /** visit_dirty sets AP_RDONLY on the shared descriptor (not a copy). */
  clearsSharedPte: true,
  /** visit_dirty tests table descriptors too. */
  visitsTablesAsLeaves: false,
  /** iova_bitmap_set carries the part of a record past the pinned window (2780025e01e2). */
  carriesBeyondPinned: true,
  /** iova_bitmap indexes u64 words (before d18411ec3057). */
  bitmapIndexU64: false,
  /** iommu_iotlb_sync after a clear invalidates the gathered range (today's SMMUv3: a no-op, F15). */
  syncsAfterClear: true,
  /** GET returns the walk's and the bitmap's errors (today: discarded, F10/F17). */
  returnsWalkErrors: true,
  /** The walker keeps `addr += size` and records [addr, addr+size) (today's code, derived). */
  advancesUnaligned: false,
  /** The record is not clamped to the request's end (today's code, derived). */
  recordsUnclamped: false,
  /** A leaf the request covers only in part is cleared anyway. */
  clearsPartialLeaf: false,
  /** IOMMU_DIRTY_NO_CLEAR skips the clear (609848132c71). */
  honoursNoClear: true,
  /** GET_DIRTY_BITMAP holds iova_rwsem for read around the walk. */
  getTakesIovaRwsem: true,
  /** Userspace reads the dirty bitmap of an area before unmapping it (QEMU 2025). */
  readsBeforeUnmap: true,
  /** iopt_unmap_iova_range takes domains_rwsem before iova_rwsem. */
  unmapTakesDomainsFirst: true,
  /** A partial unmap of a block is refused (33729a5fc0ca, 6.13+). */
  refusesPartialUnmap: true,
};

// ---------------------------------------------------------------------------------------------
// Op dispatch

/** Set the thread up for its next operation (no shared state is read: that is the op's first step). */
/**
 * The local state of a thread that runs ioctl paths (the VMM, the hotplug thread), at its first
 * op. `signalsDone`: the thread tells the others when it has finished (hotplug does; the VMM
 * waits for them instead).
 */
export function ioctlLocal(id: string, ops: IoctlLocal['ops'], bitmapOffset: number, splitter: string, vfio: boolean, signalsDone: boolean): IoctlLocal {
  const l: IoctlLocal = { id, phase: '', next: null, waits: null, ops, i: 0, n: 0, bitmapOffset, splitter, signalsDone, map: null, unmap: null, getOp: null, get: null, set: null, pu: null, aborted: false };
  startOp(l, vfio);
  return l;
}

export function startOp(l: IoctlLocal, vfio: boolean): void {
  l.map = l.unmap = l.getOp = l.get = l.set = l.pu = null;
  l.waits = null;
  const op = l.ops[l.i];
  if (!op) {
    if (l.signalsDone) {
      l.phase = 'fin';
      l.next = step('HP_DONE', { writes: [IOPT] });
    } else {
      l.phase = 'done';
      l.next = null;
    }
    return;
  }
  switch (op.op) {
    case 'MAP':
      l.phase = 'map.insert';
      l.next = step('MAP_INSERT', { label: op.area, locks: [...VFIO_TAKE(vfio), [LOCK_IOVA, 'write']], reads: [IOPT], writes: [IOPT] });
      return;
    case 'UNMAP':
    case 'HOTUNPLUG':
      l.phase = 'unmap.revoke';
      l.next = step('REVOKE', { label: op.area, reads: [IOPT], writes: [IOPT] });
      return;
    case 'SET_DIRTY':
      l.phase = 'set.begin';
      l.next = step('SET_BEGIN', { label: op.enable ? 'on' : 'off', locks: [...VFIO_TAKE(vfio), [LOCK_IOVA, 'read']], reads: [IOPT] });
      return;
    case 'GET':
      l.getOp = { range: op.range, noClear: op.noClear, runs: null, ri: 0, retries: 0, then: 'op' };
      l.phase = 'get.begin';
      l.next = getBeginStep(vfio);
      return;
    case 'QUIESCE':
      l.phase = 'quiesce';
      l.next = step('QUIESCE', { gate: 'quiesce' });
      return;
    case 'WAIT_TRACKING':
      l.phase = 'wait';
      l.next = step('WAIT', { gate: 'tracking' });
      return;
    case 'UNMAP_PARTIAL':
      l.pu = { id: '', iova: op.iova, pages: op.pages, slot: null, blk: null, table: null };
      l.phase = 'pu.walk';
      l.next = step('PU_WALK', { locks: VFIO_TAKE(vfio), reads: [PT], writes: [PT] });
      return;
  }
}

function opDone(l: IoctlLocal, c: StepCtx): void {
  l.i++;
  startOp(l, c.cfg.vfio);
}

function newId(l: IoctlLocal): string {
  return `${l.id}#${l.n++}`;
}

/** One step of an ioctl thread. */
export function ioctlStep(l: IoctlLocal, event: EventObject, c: StepCtx): void {
  switch (event.type) {
    case 'MAP_INSERT':
      return mapInsert(l, c);
    case 'MAP_FILL':
      return mapFill(l, c);
    case 'MAP_UNWIND':
      return mapUnwind(l, c);
    case 'MAP_PUBLISH':
      return mapPublish(l, c);
    case 'REVOKE':
      return revoke(l, c);
    case 'UNMAP_BEGIN':
      return unmapBegin(l, c);
    case 'UNMAP_STEP':
      return unmapStep(l, c);
    case 'UNMAP_SYNC':
      return unmapSync(l, c);
    case 'UNMAP_END':
      return unmapEnd(l, c);
    case 'GET_BEGIN':
      return getBegin(l, c);
    case 'GET_LOCK':
      return getLock(l, c);
    case 'GET_PIN':
      return getPin(l, c);
    case 'GET_VISIT':
      return getVisit(l, c);
    case 'GET_ADVANCE':
      return getAdvance(l, c);
    case 'GET_SYNC':
      return getSync(l, c);
    case 'GET_END':
      return getEnd(l, c);
    case 'SET_BEGIN':
      return setBegin(l, c);
    case 'SPLIT_DONE':
      return setSplitDone(l, c);
    case 'SET_VISIT':
      return setVisit(l, c);
    case 'SET_SYNC':
      return setSync(l, c);
    case 'SET_END':
      return setEnd(l, c);
    case 'PU_WALK':
      return puWalk(l, c);
    case 'PU_ALLOC':
      return puAlloc(l, c);
    case 'PU_FILL':
      return puFill(l, c);
    case 'PU_INSTALL':
      return puInstall(l, c);
    case 'PU_SYNC':
      return puSync(l, c);
    case 'QUIESCE':
      c.obs('quiesce', {});
      return opDone(l, c);
    case 'WAIT':
      return opDone(l, c);
    case 'HP_DONE':
      c.iopt().d.hotplugDone = true;
      l.phase = 'done';
      l.next = null;
      return;
    default:
      throw new Error(`${l.id}: no step ${event.type} in phase ${l.phase}`);
  }
}

// ---------------------------------------------------------------------------------------------
// IOAS_MAP

function mapInsert(l: IoctlLocal, c: StepCtx): void {
  const op = l.ops[l.i] as Extract<VmmOp, { op: 'MAP' }>;
  const iopt = c.iopt();
  const spec = iopt.spec(op.area);
  const id = newId(l);
  const vfio = c.cfg.vfio;
  if (vfio) c.lock(LOCK_VFIO, 'write', 'vfio_iommu_type1_ioctl');
  c.obs('op-begin', { op: 'MAP', id, iova: spec.iova, pages: spec.pages });
  // iopt_alloc_area_pages(): down_write(iova_rwsem), check for a hole, insert with pages = NULL.
  c.lock(LOCK_IOVA, 'write', 'iopt_alloc_area_pages');
  if (iopt.overlaps(spec.iova, spec.pages)) {
    c.unlock(LOCK_IOVA, 'iopt_alloc_area_pages');
    if (vfio) c.unlock(LOCK_VFIO, 'vfio_iommu_type1_ioctl');
    c.obs('op-end', { op: 'MAP', id, rc: EEXIST });
    return opDone(l, c);
  }
  iopt.insert({ id: spec.id, iova: spec.iova, pages: spec.pages, pa: spec.pa, state: 'filling', pagesSet: false, revoked: false });
  c.obs('area', { area: spec.id, event: 'insert', iova: spec.iova, pages: spec.pages, pa: spec.pa });
  c.unlock(LOCK_IOVA, 'iopt_alloc_area_pages');
  const units: { iova: number; size: number }[] = [];
  for (let at = spec.iova; at < spec.iova + spec.pages; ) {
    const size = pgsizeFor(c.cfg, at, spec.iova + spec.pages - at, c.cfg.hugePages);
    units.push({ iova: at, size });
    at += size;
  }
  l.map = { id, area: spec.id, iova: spec.iova, pages: spec.pages, pa: spec.pa, units, ui: 0, installed: [], domains: false, rc: 0 };
  l.phase = 'map.fill';
  l.next = step('MAP_FILL', { locks: [[LOCK_DOMAINS, 'read']], reads: [PT], writes: [PT] });
}

/** __arm_lpae_map for one unit: install one missing table on the way down, or init the leaf. */
function mapFill(l: IoctlLocal, c: StepCtx): void {
  const m = l.map!;
  const g = c.cfg;
  const pt = c.pt();
  if (!m.domains) {
    c.lock(LOCK_DOMAINS, 'read', 'iopt_map_pages');
    m.domains = true;
  }
  const u = m.units[m.ui];
  const target = levelOf(g, u.size);
  let id = ROOT;
  for (let lvl = 1; lvl <= target; lvl++) {
    const idx = lvlIdx(g, u.iova, lvl);
    const pte = pt.read(id, idx);
    c.obs('use', { obj: `table:${id}`, by: `${m.id}:__arm_lpae_map` });
    const slotStart = pt.table(id).base + idx * entrySize(g, lvl);
    if (lvl === target) {
      if (pte.t !== 'inv') {
        m.ui = m.units.length;
        return mapFailed(l, c, EEXIST);
      }
      // arm_lpae_init_pte(): a writable S1 leaf with IO_PGTABLE_QUIRK_ARM_HD gets DBM only: writable-dirty (F1).
      const leaf: Pte = { t: 'leaf', pa: m.pa + (u.iova - m.iova), dbm: true, ro: false, nT: false };
      pt.write(id, idx, leaf);
      c.obs('pte-write', { table: id, idx, lvl, start: slotStart, size: u.size, kind: 'map', op: m.id, before: '-', after: pteText(leaf, lvl, g.levels), dirty: true });
      m.installed.push({ table: id, idx, lvl, start: slotStart, size: u.size });
      m.ui++;
      break;
    }
    if (pte.t === 'table') {
      id = pte.next;
      continue;
    }
    if (pte.t === 'leaf') {
      m.ui = m.units.length;
      return mapFailed(l, c, EEXIST);
    }
    // A missing table: __arm_lpae_alloc_pages(GFP_KERNEL), then arm_lpae_install_table(curr = 0).
    c.obs('might-sleep', { path: 'iopt_map_pages: __arm_lpae_alloc_pages(GFP_KERNEL)' });
    if (c.fault('fault.map.tableAlloc')) {
      c.obs('table-alloc', { table: '', ok: false, by: '__arm_lpae_map', op: m.id });
      return mapFailed(l, c, ENOMEM);
    }
    const nt = pt.alloc(lvl + 1, slotStart, `${m.id}:__arm_lpae_map`, ignoredBits(c));
    c.obs('table-alloc', { table: nt, ok: true, by: '__arm_lpae_map', op: m.id });
    c.obs('alloc', { obj: `table:${nt}`, owner: m.id, by: '__arm_lpae_map' });
    const r = pt.install(id, idx, { t: 'inv' }, nt);
    c.obs('install-table', { table: id, idx, lvl, start: slotStart, size: entrySize(g, lvl), replaced: 'none', ok: r.ok, bbml: g.bbml, oldNT: false, tlbHasOld: false, newTable: nt, op: m.id });
    if (!r.ok) {
      // Lost the race: free ours and use the winner's next time.
      pt.free(nt);
      c.obs('table-free', { table: nt, by: '__arm_lpae_map' });
      c.obs('free', { obj: `table:${nt}`, by: '__arm_lpae_map' });
    }
    break;
  }
  if (m.ui >= m.units.length) {
    l.phase = 'map.publish';
    l.next = step('MAP_PUBLISH', { locks: [[LOCK_IOVA, 'write']], drops: [LOCK_DOMAINS, ...VFIO_DROP(c.cfg.vfio)], writes: [IOPT] });
  }
}

/** tableIgnoredBits=random: the IGNORED bits a new table descriptor carries. */
function ignoredBits(c: StepCtx): { ign7: boolean; ign51: boolean } | undefined {
  if (c.cfg.tableIgnoredBits !== 'random') return undefined;
  const v = c.ports.data.int(`table.ignoredBits:${c.self}`, 4);
  return { ign7: (v & 1) !== 0, ign51: (v & 2) !== 0 };
}

function mapFailed(l: IoctlLocal, c: StepCtx, rc: number): void {
  l.phase = 'map.unwind';
  l.map!.rc = rc;
  l.next = step('MAP_UNWIND', { locks: [[LOCK_IOVA, 'write']], drops: [LOCK_DOMAINS, ...VFIO_DROP(c.cfg.vfio)], reads: [PT, TLB], writes: [PT, TLB, IOPT] });
}

/** iopt_fill_domains_pages() failed: unfill what was mapped (with its TLBI), then iopt_abort_area(). */
function mapUnwind(l: IoctlLocal, c: StepCtx): void {
  const m = l.map!;
  const pt = c.pt();
  for (const s of m.installed) {
    const p = pt.read(s.table, s.idx);
    c.obs('pte-clear', { table: s.table, idx: s.idx, lvl: s.lvl, start: s.start, size: s.size, kind: 'leaf', op: m.id, dirtyPages: p.t === 'leaf' && writeableDirty(p) ? range(s.start, s.start + s.size) : [] });
    pt.write(s.table, s.idx, { t: 'inv' });
  }
  if (m.installed.length) tlbiRange(c, m.iova, m.iova + m.pages, m.id);
  c.lock(LOCK_IOVA, 'write', 'iopt_abort_area');
  c.iopt().remove(m.area);
  c.obs('area', { area: m.area, event: 'remove', iova: m.iova, pages: m.pages, pa: m.pa });
  c.unlock(LOCK_IOVA, 'iopt_abort_area');
  if (m.domains) c.unlock(LOCK_DOMAINS, 'iopt_map_pages');
  if (c.cfg.vfio) c.unlock(LOCK_VFIO, 'vfio_iommu_type1_ioctl');
  c.obs('op-end', { op: 'MAP', id: m.id, rc: m.rc });
  updateTransitional(c);
  opDone(l, c);
}

function mapPublish(l: IoctlLocal, c: StepCtx): void {
  const m = l.map!;
  const a = c.iopt().area(m.area)!;
  // area->pages must be set inside domains_rwsem, under iova_rwsem write.
  c.lock(LOCK_IOVA, 'write', 'iopt_map_pages');
  a.pagesSet = true;
  a.state = 'live';
  c.obs('area', { area: a.id, event: 'publish', iova: a.iova, pages: a.pages, pa: a.pa });
  c.unlock(LOCK_IOVA, 'iopt_map_pages');
  c.unlock(LOCK_DOMAINS, 'iopt_map_pages');
  if (c.cfg.vfio) c.unlock(LOCK_VFIO, 'vfio_iommu_type1_ioctl');
  c.obs('op-end', { op: 'MAP', id: m.id, rc: 0 });
  opDone(l, c);
}

// ---------------------------------------------------------------------------------------------
// IOAS_UNMAP

function revoke(l: IoctlLocal, c: StepCtx): void {
  const op = l.ops[l.i] as { area: string };
  const iopt = c.iopt();
  const a = iopt.area(op.area);
  if (!a || a.state !== 'live') return opDone(l, c);
  a.revoked = true;
  c.obs('revoke', { area: a.id, iova: a.iova, pages: a.pages });
  l.unmap = { id: '', area: a.id, iova: a.iova, pages: a.pages, chunks: [], ci: 0, gather: null };
  if (c.beh.readsBeforeUnmap && iopt.d.tracking) {
    // QEMU: GET_DIRTY_BITMAP of the range before IOAS_UNMAP (no unmap-and-read API upstream).
    l.getOp = { range: { iova: a.iova, pages: a.pages }, noClear: false, runs: [[a.iova, a.pages]], ri: 0, retries: 0, then: 'unmap' };
    l.phase = 'get.begin';
    l.next = getBeginStep(c.cfg.vfio);
    return;
  }
  toUnmapBegin(l, c);
}

function toUnmapBegin(l: IoctlLocal, c: StepCtx): void {
  l.phase = 'unmap.begin';
  l.next = step('UNMAP_BEGIN', { label: l.unmap!.area, locks: [...VFIO_TAKE(c.cfg.vfio), [LOCK_DOMAINS, 'read'], [LOCK_IOVA, 'write']], reads: [IOPT], writes: [IOPT] });
}

function unmapBegin(l: IoctlLocal, c: StepCtx): void {
  const u = l.unmap!;
  const iopt = c.iopt();
  u.id = newId(l);
  if (c.cfg.vfio) c.lock(LOCK_VFIO, 'write', 'vfio_iommu_type1_ioctl');
  c.obs('op-begin', { op: 'UNMAP', id: u.id, iova: u.iova, pages: u.pages });
  if (c.beh.unmapTakesDomainsFirst) {
    c.lock(LOCK_DOMAINS, 'read', 'iopt_unmap_iova_range');
    c.lock(LOCK_IOVA, 'write', 'iopt_unmap_iova_range');
  } else {
    c.lock(LOCK_IOVA, 'write', 'iopt_unmap_iova_range');
    c.lock(LOCK_DOMAINS, 'read', 'iopt_unmap_iova_range');
  }
  const a = iopt.area(u.area);
  const rc = !a ? ENOENT : !a.pagesSet ? EBUSY : 0;
  if (rc) {
    c.unlock(LOCK_IOVA, 'iopt_unmap_iova_range');
    c.unlock(LOCK_DOMAINS, 'iopt_unmap_iova_range');
    if (c.cfg.vfio) c.unlock(LOCK_VFIO, 'vfio_iommu_type1_ioctl');
    c.obs('op-end', { op: 'UNMAP', id: u.id, rc });
    return opDone(l, c);
  }
  a!.pagesSet = false;
  a!.state = 'unfilling';
  c.obs('area', { area: a!.id, event: 'pages-null', iova: a!.iova, pages: a!.pages, pa: a!.pa });
  c.unlock(LOCK_IOVA, 'iopt_unmap_iova_range');
  // iommu_unmap() cuts the range by iommu_pgsize() over the domain's page sizes.
  for (let at = u.iova; at < u.iova + u.pages; ) {
    const size = pgsizeFor(c.cfg, at, u.iova + u.pages - at, true);
    u.chunks.push({ iova: at, size });
    at += size;
  }
  l.phase = 'unmap.unfill';
  l.next = step('UNMAP_STEP', { reads: [PT, TLB], writes: [PT, TLB] });
}

/** __arm_lpae_unmap() for one chunk: clear the descriptor of that size (a table: flush_walk and free it). */
function unmapStep(l: IoctlLocal, c: StepCtx): void {
  const u = l.unmap!;
  const g = c.cfg;
  const pt = c.pt();
  const ch = u.chunks[u.ci];
  let id = ROOT;
  for (let lvl = 1; lvl <= g.levels; lvl++) {
    const idx = lvlIdx(g, ch.iova, lvl);
    const pte = pt.read(id, idx);
    c.obs('use', { obj: `table:${id}`, by: `${u.id}:__arm_lpae_unmap` });
    const size = entrySize(g, lvl);
    const slotStart = pt.table(id).base + idx * size;
    if (pte.t === 'inv') break;
    if (size === ch.size) {
      c.obs('pte-clear', { table: id, idx, lvl, start: slotStart, size, kind: pte.t, op: u.id, dirtyPages: pt.dirtyPagesUnder(pte, slotStart, lvl) });
      pt.write(id, idx, { t: 'inv' });
      if (pte.t === 'table') {
        // A table entry fully inside the range: io_pgtable_tlb_flush_walk, then free the table.
        tlbiRange(c, slotStart, slotStart + size, u.id);
        for (const t of pt.free(pte.next)) {
          c.obs('table-free', { table: t, by: '__arm_lpae_unmap' });
          c.obs('free', { obj: `table:${t}`, by: '__arm_lpae_unmap' });
        }
      }
      // io_pgtable_tlb_add_page: the gather's pgsize is set.
      u.gather = u.gather ? { start: Math.min(u.gather.start, slotStart), end: Math.max(u.gather.end, slotStart + size) } : { start: slotStart, end: slotStart + size };
      break;
    }
    if (pte.t === 'leaf') {
      // 6.17: "Unmap of a partial large IOPTE is not allowed": WARN and unmap nothing (F6).
      c.obs('unmap-refused', { op: u.id, iova: ch.iova, pages: ch.size, leaf: size });
      break;
    }
    id = pte.next;
  }
  u.ci++;
  updateTransitional(c);
  if (u.ci >= u.chunks.length) {
    l.phase = 'unmap.sync';
    l.next = step('UNMAP_SYNC', { reads: [PT, TLB], writes: [TLB] });
  }
}

function unmapSync(l: IoctlLocal, c: StepCtx): void {
  const u = l.unmap!;
  // iommu_iotlb_sync(): arm_smmu_iotlb_sync with gather->pgsize set issues the ranged TLBI.
  if (u.gather) tlbiRange(c, u.gather.start, u.gather.end, u.id);
  updateTransitional(c);
  l.phase = 'unmap.end';
  l.next = step('UNMAP_END', { locks: [[LOCK_IOVA, 'write']], drops: [LOCK_DOMAINS, ...VFIO_DROP(c.cfg.vfio)], writes: [IOPT] });
}

function unmapEnd(l: IoctlLocal, c: StepCtx): void {
  const u = l.unmap!;
  const iopt = c.iopt();
  const a = iopt.area(u.area)!;
  // iopt_abort_area(): down_write(iova_rwsem), remove from the tree, up_write.
  c.lock(LOCK_IOVA, 'write', 'iopt_abort_area');
  iopt.remove(u.area);
  c.obs('area', { area: a.id, event: 'remove', iova: a.iova, pages: a.pages, pa: a.pa });
  c.unlock(LOCK_IOVA, 'iopt_abort_area');
  c.unlock(LOCK_DOMAINS, 'iopt_unmap_iova_range');
  if (c.cfg.vfio) c.unlock(LOCK_VFIO, 'vfio_iommu_type1_ioctl');
  c.obs('op-end', { op: 'UNMAP', id: u.id, rc: 0 });
  opDone(l, c);
}

// ---------------------------------------------------------------------------------------------
// GET_DIRTY_BITMAP

function getBeginStep(vfio: boolean) {
  return step('GET_BEGIN', { locks: VFIO_TAKE(vfio), reads: [IOPT], writes: [UBUF] });
}

/** Runs of contiguous areas that are live and not revoked, cut to [from, to). */
function liveRuns(areas: Area[], from: number, to: number): [number, number][] {
  const out: [number, number][] = [];
  for (const a of [...areas].sort((x, y) => x.iova - y.iova)) {
    if (a.state !== 'live' || !a.pagesSet || a.revoked) continue;
    const s = Math.max(from, a.iova);
    const e = Math.min(to, a.iova + a.pages);
    if (s >= e) continue;
    const last = out[out.length - 1];
    if (last && last[0] + last[1] === s) last[1] += e - s;
    else out.push([s, e - s]);
  }
  return out;
}

function getBegin(l: IoctlLocal, c: StepCtx): void {
  const op = l.getOp!;
  const iopt = c.iopt();
  if (op.runs === null) {
    const r = op.range;
    op.runs = r === 'areas' ? liveRuns(iopt.d.areas, 0, ioSpace(c.cfg)) : liveRuns(iopt.d.areas, r.iova, r.iova + r.pages);
  }
  if (op.ri >= op.runs.length) return getOpDone(l, c);
  const [iova, pages] = op.runs[op.ri];
  const id = newId(l);
  if (c.cfg.vfio) c.lock(LOCK_VFIO, 'write', 'vfio_iommu_type1_ioctl');
  c.ubuf().layout(l.id, c.cfg.bmPageBytes, l.bitmapOffset, pages);
  c.obs('op-begin', { op: 'GET', id, iova, pages, noClear: op.noClear });
  l.get = { id, iova, pages, noClear: op.noClear, rc: 0, cause: '', bm: null, walk: null, hole: false, gather: null, records: [] };
  l.phase = 'get.lock';
  l.next = step('GET_LOCK', { locks: c.beh.getTakesIovaRwsem ? [[LOCK_IOVA, 'read']] : [], reads: [IOPT] });
}

function getLock(l: IoctlLocal, c: StepCtx): void {
  const g = l.get!;
  if (c.beh.getTakesIovaRwsem) c.lock(LOCK_IOVA, 'read', 'iopt_read_and_clear_dirty_data');
  // iova_bitmap_alloc() under the lock (kzalloc of the iova_bitmap and its page array).
  if (c.fault('fault.get.bitmapAlloc')) {
    g.rc = ENOMEM;
    g.cause = 'bitmap-alloc';
    return toGetEnd(l, c);
  }
  g.bm = bitmapAlloc(g.iova, g.pages, c.beh.bitmapIndexU64 ? 8 : 1);
  if (c.cfg.bitmap === 'chunked') {
    // v6.8: iova_bitmap_alloc() pins the first window.
    l.phase = 'get.pin';
    l.next = step('GET_PIN', { reads: [IOPT, UBUF], writes: [UBUF] });
    return;
  }
  // v6.11+: iova_bitmap_for_each() calls the walker once over the whole range.
  startWalk(l, c, g.iova, g.iova + g.pages);
}

/** __iommu_read_and_clear_dirty over [from, to): the contiguous areas, then -EINVAL if they stop short. */
function startWalk(l: IoctlLocal, c: StepCtx, from: number, to: number): void {
  const g = l.get!;
  const { pieces, done } = contigPieces(c.iopt().d.areas, from, to);
  g.hole = !done;
  g.walk = newWalk(g.id, pieces, g.iova, g.iova + g.pages, g.noClear);
  if (walkDone(g.walk)) return walkFinished(l, c);
  l.phase = 'get.visit';
  l.next = step('GET_VISIT', { reads: [PT, UBUF], writes: [PT, UBUF] });
}

function bitmapPort(l: IoctlLocal, c: StepCtx): BitmapPort {
  const g = l.get!;
  return {
    buf: c.ubuf().of(l.id),
    pageBytes: c.cfg.bmPageBytes,
    chunkPages: c.cfg.chunkPages,
    gupFails: () => c.fault('fault.get.gup'),
    pinned: (firstPage, npages, ok) => c.obs('bitmap-pin', { op: g.id, firstPage, npages, ok }),
    wrote: (bit, n) => c.obs('bitmap-set', { op: g.id, bit, n, nbits: g.pages }),
  };
}

function getPin(l: IoctlLocal, c: StepCtx): void {
  const g = l.get!;
  const p = bitmapPort(l, c);
  if (bitmapGet(g.bm!, p)) {
    // iova_bitmap_alloc() failed (v6.8 pins there): iommu_read_and_clear_dirty returns -ENOMEM.
    g.rc = ENOMEM;
    g.cause = 'bitmap-alloc';
    return toGetEnd(l, c);
  }
  const [from, to] = chunkRange(g.bm!, p);
  startWalk(l, c, from, to);
}

function getVisit(l: IoctlLocal, c: StepCtx): void {
  const g = l.get!;
  const p = bitmapPort(l, c);
  const gather = { g: g.gather };
  const chunked = c.cfg.bitmap === 'chunked';
  visitStep(
    g.walk!,
    gather,
    {
      record: (start, end) => {
        g.records.push([start, end]);
        if (chunked) {
          const dropped = bitmapSetChunked(g.bm!, start, end - start, c.beh.carriesBeyondPinned, p);
          if (g.bm!.setAhead) c.obs('set-ahead', { op: g.id, len: g.bm!.setAhead });
          return { err: 0, dropped };
        }
        return bitmapSetDynamic(g.bm!, start, end - start, p);
      },
    },
    c,
  );
  g.gather = gather.g;
  if (walkDone(g.walk!)) walkFinished(l, c);
}

/** The walker returned for this call (the whole range, or one window). */
function walkFinished(l: IoctlLocal, c: StepCtx): void {
  const g = l.get!;
  const err = g.walk!.err || (g.hole ? EINVAL : 0);
  if (err && !g.rc) {
    g.rc = err;
    g.cause = g.walk!.err ? (g.walk!.err === EINVAL ? 'walk' : 'bitmap') : 'hole';
  }
  if (c.cfg.bitmap === 'chunked' && !err) {
    l.phase = 'get.advance';
    l.next = step('GET_ADVANCE', { reads: [IOPT, UBUF], writes: [UBUF] });
    return;
  }
  toGetSync(l, c);
}

function getAdvance(l: IoctlLocal, c: StepCtx): void {
  const g = l.get!;
  const p = bitmapPort(l, c);
  const r = bitmapAdvance(g.bm!, p);
  if (r) {
    g.rc = r;
    g.cause = 'gup';
    return toGetSync(l, c);
  }
  if (bitmapDone(g.bm!)) return toGetSync(l, c);
  const [from, to] = chunkRange(g.bm!, p);
  startWalk(l, c, from, to);
}

function toGetSync(l: IoctlLocal, c: StepCtx): void {
  if (l.get!.noClear) return toGetEnd(l, c);
  l.phase = 'get.sync';
  l.next = step('GET_SYNC', { reads: [PT, TLB], writes: [TLB] });
}

/**
 * iommu_iotlb_sync(domain, &gather) after a clear. The gather was filled by
 * iommu_iotlb_gather_add_range(), which never sets pgsize (F14); arm_smmu_iotlb_sync() returns
 * early when pgsize is 0 (F15). Fixed model: the ranged invalidation the code intends.
 */
function syncAfterClear(c: StepCtx, gather: Gather | null, op: string): void {
  if (!gather) return;
  if (c.beh.syncsAfterClear) tlbiRange(c, gather.start, gather.end, op);
  else c.obs('tlbi', { kind: 'noop', start: gather.start, end: gather.end, removed: [], op, reason: 'arm_smmu_iotlb_sync: gather->pgsize == 0' });
  updateTransitional(c);
}

function getSync(l: IoctlLocal, c: StepCtx): void {
  syncAfterClear(c, l.get!.gather, l.get!.id);
  toGetEnd(l, c);
}

function toGetEnd(l: IoctlLocal, c: StepCtx): void {
  l.phase = 'get.end';
  // iova_rwsem was taken at GET_LOCK (before the bitmap allocation that may have failed).
  l.next = step('GET_END', { drops: [...(c.beh.getTakesIovaRwsem ? [LOCK_IOVA] : []), ...VFIO_DROP(c.cfg.vfio)], reads: [UBUF, IOPT] });
}

function getEnd(l: IoctlLocal, c: StepCtx): void {
  const g = l.get!;
  const op = l.getOp!;
  if (c.beh.getTakesIovaRwsem) c.unlock(LOCK_IOVA, 'iopt_read_and_clear_dirty_data');
  if (c.cfg.vfio) c.unlock(LOCK_VFIO, 'vfio_iommu_type1_ioctl');
  // iommu_read_and_clear_dirty(): -ENOMEM from the bitmap allocation is returned; the result of
  // iova_bitmap_for_each() is discarded (F10), and a failed re-pin inside iova_bitmap_set() is silent (F17).
  const fromWalk = g.cause !== 'bitmap-alloc';
  const rc = g.rc && fromWalk && !c.beh.returnsWalkErrors ? 0 : g.rc;
  const buf = c.ubuf().of(l.id);
  const bits = buf.ones().map((b) => g.iova + b);
  const bm = g.bm;
  const windows = bm ? Math.ceil((buf.s.start % c.cfg.bmPageBytes + buf.nbytes) / (c.cfg.chunkPages * c.cfg.bmPageBytes)) : 0;
  c.obs('get-return', {
    op: g.id,
    rc,
    iova: g.iova,
    pages: g.pages,
    noClear: g.noClear,
    bits,
    records: g.records,
    pins: bm?.pins ?? 0,
    crossings: bm?.crossings ?? 0,
    windows,
    outside: [...buf.s.outside],
    nbits: g.pages,
    cause: g.cause,
  });
  c.obs('op-end', { op: 'GET', id: g.id, rc });
  l.get = null;
  if (rc) {
    // Asking again is safe when the failed call cleared nothing it did not report: it stopped at a
    // hole or an invalid descriptor, could not allocate or pin before walking, or (fixed model)
    // stopped before the clear of a record it could not set. A pin that fails while carrying a
    // record (v6.8 set_ahead) comes after the clear: QEMU then fails the migration.
    if (g.cause !== 'gup' && op.retries < c.cfg.getRetries) {
      op.retries++;
      // Before an unmap the area is revoked but still mapped: the same range again.
      if (op.then !== 'unmap') {
        const [iova, pages] = op.runs![op.ri];
        op.runs!.splice(op.ri, 1, ...liveRuns(c.iopt().d.areas, iova, iova + pages));
      }
    } else {
      if (!l.aborted) c.obs('migration-abort', { reason: `GET_DIRTY_BITMAP [${g.iova},${g.iova + g.pages}) returned ${rc} (${g.cause})` });
      l.aborted = true;
      op.ri++;
    }
  } else op.ri++;
  if (op.ri < op.runs!.length) {
    l.phase = 'get.begin';
    l.next = getBeginStep(c.cfg.vfio);
    return;
  }
  getOpDone(l, c);
}

function getOpDone(l: IoctlLocal, c: StepCtx): void {
  const then = l.getOp!.then;
  l.getOp = null;
  l.get = null;
  if (then === 'unmap') return toUnmapBegin(l, c);
  opDone(l, c);
}

// ---------------------------------------------------------------------------------------------
// SET_DIRTY_TRACKING

function setBegin(l: IoctlLocal, c: StepCtx): void {
  const op = l.ops[l.i] as Extract<VmmOp, { op: 'SET_DIRTY' }>;
  const id = newId(l);
  if (c.cfg.vfio) c.lock(LOCK_VFIO, 'write', 'vfio_iommu_type1_ioctl');
  c.lock(LOCK_IOVA, 'read', 'iopt_set_dirty_tracking');
  c.obs('op-begin', { op: 'SET', id, enable: op.enable });
  l.set = { id, enable: op.enable, rc: 0, walk: null, gather: null };
  if (!op.enable) return toSetEnd(l, c);
  if (c.cfg.split !== 'none' && c.cfg.splitWhen === 'enable') {
    // The seed: split the blocks first, synchronously, with this thread's locks held.
    c.send(l.splitter, 'SPLIT_REQ', { thread: l.id, reply: l.id });
    l.phase = 'set.split';
    l.next = null;
    l.waits = { type: 'SPLIT_DONE', reads: [IOPT], writes: [] };
    return;
  }
  startClear(l, c);
}

function setSplitDone(l: IoctlLocal, c: StepCtx): void {
  l.waits = null;
  startClear(l, c);
}

/** iopt_clear_dirty_data(): read_and_clear every area whose pages are set (`continue` past NULL), bitmap NULL. */
function startClear(l: IoctlLocal, c: StepCtx): void {
  const s = l.set!;
  const pieces = c
    .iopt()
    .sorted()
    .filter((a) => a.pagesSet)
    .map((a) => ({ start: a.iova, end: a.iova + a.pages }));
  s.walk = newWalk(s.id, pieces, 0, ioSpace(c.cfg), false);
  if (walkDone(s.walk)) return toSetSync(l, c);
  l.phase = 'set.visit';
  l.next = step('SET_VISIT', { reads: [PT], writes: [PT] });
}

function setVisit(l: IoctlLocal, c: StepCtx): void {
  const s = l.set!;
  const gather = { g: s.gather };
  visitStep(s.walk!, gather, { record: () => ({ err: 0, dropped: 0 }) }, c);
  s.gather = gather.g;
  if (walkDone(s.walk!)) {
    s.rc = s.walk!.err;
    toSetSync(l, c);
  }
}

function toSetSync(l: IoctlLocal, _c: StepCtx): void {
  l.phase = 'set.sync';
  l.next = step('SET_SYNC', { reads: [PT, TLB], writes: [TLB] });
}

function setSync(l: IoctlLocal, c: StepCtx): void {
  syncAfterClear(c, l.set!.gather, l.set!.id);
  toSetEnd(l, c);
}

function toSetEnd(l: IoctlLocal, c: StepCtx): void {
  l.phase = 'set.end';
  l.next = step('SET_END', { drops: [LOCK_IOVA, ...VFIO_DROP(c.cfg.vfio)], writes: [IOPT] });
}

function setEnd(l: IoctlLocal, c: StepCtx): void {
  const s = l.set!;
  if (!s.rc) {
    // ops->set_dirty_tracking(): arm_smmu_set_dirty_tracking returns 0 (HD stays on, F15).
    c.iopt().d.tracking = s.enable;
    c.obs('tracking', { on: s.enable });
  }
  c.unlock(LOCK_IOVA, 'iopt_set_dirty_tracking');
  if (c.cfg.vfio) c.unlock(LOCK_VFIO, 'vfio_iommu_type1_ioctl');
  c.obs('op-end', { op: 'SET', id: s.id, rc: s.rc });
  if (s.enable && !s.rc && c.cfg.split !== 'none' && c.cfg.splitWhen === 'background') c.send(l.splitter, 'SPLIT_REQ', { thread: l.splitter, reply: '' });
  opDone(l, c);
}

// ---------------------------------------------------------------------------------------------
// In-kernel partial unmap of a block (iommu_unmap of part of a huge IOPTE)

function puWalk(l: IoctlLocal, c: StepCtx): void {
  const pu = l.pu!;
  const g = c.cfg;
  const pt = c.pt();
  pu.id = newId(l);
  if (g.vfio) c.lock(LOCK_VFIO, 'write', 'vfio_iommu_type1_ioctl');
  c.obs('op-begin', { op: 'UNMAP_PARTIAL', id: pu.id, iova: pu.iova, pages: pu.pages });
  const f = pt.lookup(pu.iova);
  c.obs('use', { obj: `table:${f.table}`, by: `${pu.id}:__arm_lpae_unmap` });
  const size = entrySize(g, f.lvl);
  if (f.pte.t !== 'leaf' || size <= pu.pages) return puEnd(l, c, 0);
  pu.slot = { table: f.table, idx: f.idx, lvl: f.lvl, start: pt.table(f.table).base + f.idx * size, size };
  pu.blk = f.pte;
  if (c.beh.refusesPartialUnmap) {
    // 6.13+ (33729a5fc0ca): "Unmap of a partial large IOPTE is not allowed": WARN, unmap nothing.
    c.obs('unmap-refused', { op: pu.id, iova: pu.iova, pages: pu.pages, leaf: size });
    return puEnd(l, c, 0);
  }
  l.phase = 'pu.alloc';
  l.next = step('PU_ALLOC', { drops: VFIO_DROP(g.vfio), writes: [PT] });
}

/** arm_lpae_split_blk_unmap() (before 33729a5fc0ca, F7): allocate the next-level table, GFP_ATOMIC. */
function puAlloc(l: IoctlLocal, c: StepCtx): void {
  const pu = l.pu!;
  if (c.fault('fault.unmapSplit.tableAlloc')) {
    c.obs('table-alloc', { table: '', ok: false, by: 'arm_lpae_split_blk_unmap', op: pu.id, slot: { table: pu.slot!.table, idx: pu.slot!.idx } });
    return puEnd(l, c, 0);
  }
  pu.table = c.pt().alloc(pu.slot!.lvl + 1, pu.slot!.start, `${pu.id}:arm_lpae_split_blk_unmap`, ignoredBits(c));
  c.obs('table-alloc', { table: pu.table, ok: true, by: 'arm_lpae_split_blk_unmap', op: pu.id, slot: { table: pu.slot!.table, idx: pu.slot!.idx } });
  c.obs('alloc', { obj: `table:${pu.table}`, owner: pu.id, by: 'arm_lpae_split_blk_unmap' });
  l.phase = 'pu.fill';
  l.next = step('PU_FILL', { writes: [PT] });
}

/** Children get iopte_prot(blk_pte) (DBM and AP kept, F8), except the unmapped ones. */
function puFill(l: IoctlLocal, c: StepCtx): void {
  const pu = l.pu!;
  const g = c.cfg;
  const pt = c.pt();
  const blk = pu.blk as Extract<Pte, { t: 'leaf' }>;
  const lvl = pu.slot!.lvl + 1;
  const csz = entrySize(g, lvl);
  c.obs('use', { obj: `table:${pu.table}`, by: `${pu.id}:arm_lpae_split_blk_unmap` });
  for (let i = 0; i < g.fanout; i++) {
    const start = pu.slot!.start + i * csz;
    if (start >= pu.iova && start < pu.iova + pu.pages) continue;
    const child: Pte = { t: 'leaf', pa: blk.pa + i * csz, dbm: blk.dbm, ro: blk.ro, nT: false };
    pt.write(pu.table!, i, child);
    c.obs('pte-write', { table: pu.table!, idx: i, lvl, start, size: csz, kind: 'split-fill', op: pu.id, before: '-', after: pteText(child, lvl, g.levels), dirty: writeableDirty(child) });
  }
  l.phase = 'pu.install';
  l.next = step('PU_INSTALL', { drops: VFIO_DROP(c.cfg.vfio), reads: [PT, TLB], writes: [PT, TLB] });
}

function puInstall(l: IoctlLocal, c: StepCtx): void {
  const pu = l.pu!;
  const s = pu.slot!;
  const pt = c.pt();
  const tlbHasOld = c.tlb().entries().some((e) => e.src.table === s.table && e.src.idx === s.idx);
  const r = pt.install(s.table, s.idx, pu.blk!, pu.table!);
  c.obs('use', { obj: `table:${s.table}`, by: `${pu.id}:arm_lpae_install_table` });
  c.obs('install-table', { table: s.table, idx: s.idx, lvl: s.lvl, start: s.start, size: s.size, replaced: 'block', ok: r.ok, bbml: c.cfg.bbml, oldNT: r.old.t === 'leaf' && r.old.nT, tlbHasOld, newTable: pu.table!, op: pu.id });
  updateTransitional(c);
  if (!r.ok) {
    pt.free(pu.table!);
    c.obs('table-free', { table: pu.table!, by: 'arm_lpae_split_blk_unmap' });
    c.obs('free', { obj: `table:${pu.table}`, by: 'arm_lpae_split_blk_unmap' });
    return puEnd(l, c, 0);
  }
  l.phase = 'pu.sync';
  l.next = step('PU_SYNC', { drops: VFIO_DROP(c.cfg.vfio), reads: [PT, TLB], writes: [TLB] });
}

function puSync(l: IoctlLocal, c: StepCtx): void {
  const pu = l.pu!;
  // io_pgtable_tlb_add_page(unmapped page) then iommu_iotlb_sync: pgsize set, a real TLBI.
  tlbiRange(c, pu.iova, pu.iova + pu.pages, pu.id);
  updateTransitional(c);
  puEnd(l, c, pu.pages);
}

function puEnd(l: IoctlLocal, c: StepCtx, unmapped: number): void {
  if (c.cfg.vfio) c.unlock(LOCK_VFIO, 'vfio_iommu_type1_ioctl');
  c.obs('op-end', { op: 'UNMAP_PARTIAL', id: l.pu!.id, rc: unmapped });
  opDone(l, c);
}

function range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = a; i < b; i++) out.push(i);
  return out;
}

