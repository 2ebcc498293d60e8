/**
 * The kernel paths the actors run over the shared state, one function per piece of code, each
 * called from a step's `prepare` (so every data draw is recorded and the transition stays pure).
 * Citations are to drivers/vfio/vfio_iommu_type1.c (6.17-rc) unless noted; where a variant
 * changes a path, the caller passes the variant's choice (a named guard) in `opts`.
 *
 * Every caller holds the locks the function's comment names; the `fields-under-lock` monitor
 * checks each write against them from the `field-write` observations made here.
 */
import type { DataPort } from '../../core/model/kind.ts';
import type { Observation } from '../../core/model/effects.ts';
import { Bitmap, type UserBitmapState } from '../../kernel/bitmap.ts';
import { allocFails } from '../../kernel/alloc.ts';
import { bitString, type DmaState, type Type1State } from './state/type1.ts';
import type { CoreState } from './state/core.ts';
import { type PinState, VM } from './state/pins.ts';
import { BITS_PER_LONG, type DmaView, type VfioObs, pageId } from './types.ts';

export interface Rates {
  gupFail: number;
  enomem: number;
  allocFail: number;
  userFault: number;
}

/** One kernel thread's view of the container while it runs a step. */
export interface Kernel {
  t: Type1State;
  core: CoreState;
  pins: PinState;
  data: DataPort;
  rates: Rates;
  /** The thread (actor) running the path: fault labels name it. */
  who: string;
  sharing: 'shared' | 'per-group';
  pageSize: number;
  /** File an observation (through a shared-state piece the step already touched). */
  observe(o: Observation): void;
  /** Observations already made in this step that need not repeat (field writes, sleeps, bitmap uses). */
  once?: Set<string>;
}

/** Make an observation once per step (a field written twice in one atomic step is one write). */
function once(k: Kernel, key: string): boolean {
  const s = (k.once ??= new Set());
  if (s.has(key)) return false;
  s.add(key);
  return true;
}

export const OK = 0;
export const EINVAL = -22;
export const ENOMEM = -12;
export const EFAULT = -14;
export const EEXIST = -17;
export const EBUSY = -16;

/**
 * File an observation about the shared state the step works on (through the piece it touched:
 * observing touches nothing more). Thread-local observations go in the step's result instead.
 */
export function obs<K extends keyof VfioObs & string>(k: Kernel, what: K, fields: VfioObs[K]): void {
  k.observe({ what, ...fields } as Observation);
}

/** A write of a type1 field (iommu->lock). */
function wT(k: Kernel, field: string, key?: string): void {
  if (!once(k, `w:${field}:${key}`)) return;
  obs(k, 'field-write', key === undefined ? { obj: 'type1', field } : { obj: 'type1', field, key });
}

/** A write of a vfio core group field (the group's device_lock). */
function wC(k: Kernel, g: string, field: string): void {
  if (!once(k, `c:${g}:${field}`)) return;
  obs(k, 'field-write', { obj: 'core', field, key: g });
}

function sleeps(k: Kernel, path: string): void {
  if (!once(k, `s:${path}`)) return;
  obs(k, 'might-sleep', { path });
}

function vpfnCount(d: DmaState): number {
  return Object.keys(d.pfn).length;
}

function bitmapOf(d: DmaState): Bitmap {
  return new Bitmap(d.bitmap!);
}

/** Bits a dma's bitmap is allocated with: DIRTY_BITMAP_BYTES(npages) + sizeof(u64), in bits. */
function bitmapBits(pages: number): number {
  return (Math.ceil(pages / BITS_PER_LONG) + 1) * BITS_PER_LONG;
}

export function pgshift(pageSize: number): number {
  return Math.log2(pageSize);
}

// ------------------------------------------------------------------ scope summary

/**
 * The walk over every attached group that the bool (v5.8-v5.11 update_pinned_page_dirty_scope)
 * and the no-summary design make: each domain's groups, then the emulated ones, stopping at the
 * first group not in pinned scope. Returns whether all are in scope; reports the visits.
 */
export function walkScope(k: Kernel, by: VfioObs['scope-visit']['by']): boolean {
  let n = 0;
  for (const g of k.t.walkOrder()) {
    n++;
    if (!k.t.s.groups[g].scope) {
      obs(k, 'scope-visit', { n, by });
      return false;
    }
  }
  obs(k, 'scope-visit', { n, by });
  return true;
}

/** update_user_bitmap()'s test: are all of this dma's pages to be reported dirty? (iommu->lock) */
function allDirty(k: Kernel, d: DmaState): boolean {
  const s = k.t.s;
  const nonPinned = s.mode === 'counter' ? s.counter > 0 : s.mode === 'bool' ? !s.pinnedScope : !walkScope(k, 'get');
  return nonPinned && d.mapped;
}

/** A group left pinned scope or was added unpinned (counter++ / bool false). iommu->lock. */
function demote(k: Kernel): void {
  const s = k.t.s;
  if (s.mode === 'counter') {
    s.counter++;
    wT(k, 'counter');
  } else if (s.mode === 'bool') {
    s.pinnedScope = false;
    wT(k, 'pinnedScope');
  }
}

/** A non-pinned group entered pinned scope or went away (counter-- / bool walk). iommu->lock. */
function promoteSummary(k: Kernel, by: 'pin' | 'detach'): void {
  const s = k.t.s;
  if (s.mode === 'counter') {
    s.counter--;
    wT(k, 'counter');
  } else if (s.mode === 'bool' && !s.pinnedScope) {
    s.pinnedScope = walkScope(k, by);
    wT(k, 'pinnedScope');
  }
}

// ------------------------------------------------------------------ bitmaps

/** vfio_dma_bitmap_alloc(): kvzalloc, may fail. iommu->lock. */
function allocBitmap(k: Kernel, name: string, by: string): boolean {
  const d = k.t.s.dmas[name];
  sleeps(k, `${by}:kvzalloc`);
  if (allocFails(k.data, 'alloc:bitmap', name, k.rates.allocFail)) return false;
  d.bitmap = new Array(bitmapBits(d.pages)).fill(0);
  wT(k, 'dma.bitmap', name);
  obs(k, 'bitmap-alloc', { inst: d.inst, nbits: d.pages, by });
  return true;
}

function freeBitmap(k: Kernel, name: string, by: string): void {
  const d = k.t.s.dmas[name];
  if (!d.bitmap) return;
  d.bitmap = null;
  wT(k, 'dma.bitmap', name);
  obs(k, 'bitmap-free', { inst: d.inst, by });
}

/** bitmap_set on a dma's bitmap, reporting the use (a NULL bitmap is an oops in the kernel). */
function setBits(k: Kernel, name: string, start: number, len: number, by: string): void {
  const d = k.t.s.dmas[name];
  if (once(k, `u:${d.inst}:${by}`)) obs(k, 'bitmap-use', { inst: d.inst, by, present: d.bitmap !== null });
  if (!d.bitmap || len <= 0) return;
  bitmapOf(d).set(start, len);
  wT(k, 'dma.bitmap', name);
}

/** vfio_dma_populate_bitmap(): every vpfn's bit. */
function populate(k: Kernel, name: string): void {
  const d = k.t.s.dmas[name];
  for (const idx of Object.keys(d.pfn)) setBits(k, name, Number(idx), 1, 'vfio_dma_populate_bitmap');
}

/** vfio_iommu_populate_bitmap_full(): every bit of every dma (d0a78f91761f). */
function populateFull(k: Kernel): void {
  const names = k.t.dmaNames();
  for (const n of names) setBits(k, n, 0, k.t.s.dmas[n].pages, 'vfio_iommu_populate_bitmap_full');
  obs(k, 'populate-full', { dmas: names });
}

// ------------------------------------------------------------------ dma map / unmap

/**
 * vfio_dma_do_map(): with iommu->lock held. -EEXIST, kzalloc, pin+map every page if a domain
 * exists (vfio_pin_map_dma: GUP and RLIMIT can fail; failure removes the dma), then a bitmap if
 * tracking (failure removes the dma). `allocBitmapWhileTracking` false is the deliberate
 * map-without-bitmap-while-tracking break.
 */
export function mapDma(k: Kernel, name: string, iova: number, pages: number, opts: { allocBitmapWhileTracking: boolean }): number {
  const s = k.t.s;
  if (s.dmas[name]) return EEXIST;
  sleeps(k, 'vfio_dma_do_map:kzalloc');
  if (allocFails(k.data, 'alloc:dma', name, k.rates.allocFail)) return ENOMEM;
  const n = ++s.seq.inst;
  s.dmas[name] = { inst: `${name}#${n}`, iova, pages, mapped: false, pfn: {}, bitmap: null, pfnBase: n * 16 };
  wT(k, 'dmas', name);
  const d = s.dmas[name];
  if (s.domains.length > 0) {
    sleeps(k, 'vfio_pin_pages_remote');
    if (k.data.fault(`gup:map:${name}`, k.rates.gupFail)) {
      removeDma(k, name, false, 'vfio_pin_map_dma');
      return EFAULT;
    }
    if (k.data.fault(`acct:map:${name}`, k.rates.enomem)) {
      removeDma(k, name, false, 'vfio_pin_map_dma');
      return ENOMEM;
    }
    for (let i = 0; i < pages; i++) k.pins.table.pin(d.pfnBase + i, `map:${d.inst}`);
    k.pins.table.account(VM, pages);
    d.mapped = true;
    wT(k, 'dma.mapped', name);
  }
  if (s.tracking && opts.allocBitmapWhileTracking && !allocBitmap(k, name, 'vfio_dma_do_map')) {
    removeDma(k, name, false, 'vfio_dma_do_map');
    return ENOMEM;
  }
  obs(k, 'dma-map', { dma: name, inst: d.inst, pages, mapped: d.mapped });
  return OK;
}

/**
 * vfio_remove_dma(): vfio_unmap_unpin (unpin the mapping pins, uncharge locked_vm), free the
 * bitmap, unlink. iommu->lock. `reported`: whether this removal came after the dma's dirty bits
 * were copied to the user (UNMAP with GET_DIRTY_BITMAP).
 */
export function removeDma(k: Kernel, name: string, reported: boolean, by: string): void {
  const d = k.t.s.dmas[name];
  if (vpfnCount(d) > 0) throw new Error(`model: vfio_remove_dma(${d.inst}) with vpfns still pinned (WARN_ON in the kernel): ${JSON.stringify(d.pfn)}`);
  if (d.mapped) {
    for (let i = 0; i < d.pages; i++) unpinOrThrow(k, d.pfnBase + i, `map:${d.inst}`);
    k.pins.table.account(VM, -d.pages);
    d.mapped = false;
  }
  freeBitmap(k, name, by);
  delete k.t.s.dmas[name];
  wT(k, 'dmas', name);
  obs(k, 'dma-removed', { dma: name, inst: d.inst, reported, by });
}

function unpinOrThrow(k: Kernel, pfn: number, holder: string): void {
  const err = k.pins.table.unpin(pfn, holder);
  if (err) throw new Error(`model: ${err}`);
}

/** vfio_iommu_unmap_unpin_all(): every dma goes, unreported. */
function unmapUnpinAll(k: Kernel, by: string): void {
  for (const n of k.t.dmaNames()) removeDma(k, n, false, by);
}

/** vfio_iommu_unmap_unpin_reaccount(): the last domain goes but emulated groups stay. */
function unmapUnpinReaccount(k: Kernel): void {
  for (const n of k.t.dmaNames()) {
    const d = k.t.s.dmas[n];
    if (!d.mapped) continue;
    for (let i = 0; i < d.pages; i++) unpinOrThrow(k, d.pfnBase + i, `map:${d.inst}`);
    k.pins.table.account(VM, vpfnCount(d) - d.pages);
    d.mapped = false;
    wT(k, 'dma.mapped', n);
  }
}

/**
 * update_user_bitmap(): with iommu->lock held. All bits when a non-pinned group exists and the
 * dma is mapped; then the shift into the user's u64 words: 6.17 shifts dma->bitmap IN PLACE
 * (`inPlace`), the fixed model a scratch copy; copy_from_user of the leftover word, OR, and
 * copy_to_user of DIRTY_BITMAP_BYTES(nbits + shift). Either copy can fault (-EFAULT): one labelled
 * draw stands for both. Returns the bits the user buffer holds for this dma afterwards.
 */
export function updateUserBitmap(k: Kernel, name: string, user: UserBitmapState, baseIova: number, opts: { inPlace: boolean; label: string }): { ok: boolean; bits: number[] } {
  const d = k.t.s.dmas[name];
  const nbits = d.pages;
  const bitOffset = d.iova - baseIova;
  const copyOffset = Math.floor(bitOffset / BITS_PER_LONG);
  const shift = bitOffset % BITS_PER_LONG;
  obs(k, 'bitmap-use', { inst: d.inst, by: 'update_user_bitmap', present: d.bitmap !== null });
  if (!d.bitmap) return { ok: false, bits: [] };
  if (allDirty(k, d)) setBits(k, name, 0, nbits, 'update_user_bitmap');
  const src = new Bitmap(opts.inPlace ? d.bitmap : d.bitmap.slice());
  if (shift) {
    src.shiftLeftWords(shift, nbits + shift, BITS_PER_LONG);
    if (opts.inPlace) {
      d.bitmap = src.bits;
      wT(k, 'dma.bitmap', name);
    }
  }
  obs(k, 'might-fault', { path: 'update_user_bitmap:copy_to_user' });
  if (k.data.fault(opts.label, k.rates.userFault)) return { ok: false, bits: [] };
  const words = Math.ceil((nbits + shift) / BITS_PER_LONG);
  const base = copyOffset * BITS_PER_LONG;
  for (let i = 0; i < words * BITS_PER_LONG; i++) {
    // bitmap_or with the leftover: the user's bits below `shift` in the first word are kept.
    if (i < shift) continue;
    userWrite(user, base + i, src.bits[i] ?? 0);
  }
  const bits: number[] = [];
  for (let i = 0; i < nbits; i++) if (userTest(user, bitOffset + i)) bits.push(i);
  return { ok: true, bits };
}

function userWrite(u: UserBitmapState, bit: number, v: number): void {
  const at = u.guard + Math.floor(bit / 8);
  if (at >= u.mem.length) throw new Error(`model: user bitmap write of bit ${bit} beyond the guard bytes`);
  if (v) u.mem[at] |= 1 << bit % 8;
  else u.mem[at] &= ~(1 << bit % 8);
}

function userTest(u: UserBitmapState, bit: number): boolean {
  return ((u.mem[u.guard + Math.floor(bit / 8)] ?? 0) & (1 << bit % 8)) !== 0;
}

/** The user buffer a GET or UNMAP passes for `nbits` bits (u64 words), with guard bytes. */
export function userBitmap(nbits: number): UserBitmapState {
  const bytes = Math.ceil(nbits / BITS_PER_LONG) * 8;
  return { guard: 8, mem: [...new Array(8).fill(0xa5), ...new Array(bytes + 8).fill(0), ...new Array(8).fill(0xa5)] };
}

/**
 * One dma of vfio_iova_dirty_bitmap(): update_user_bitmap, then (only on success) bitmap_clear
 * of the dma's nbits and vfio_dma_populate_bitmap. iommu->lock.
 */
export function getDma(k: Kernel, name: string, user: UserBitmapState, baseIova: number, opts: { inPlace: boolean; round: number }): number {
  const d = k.t.s.dmas[name];
  const r = updateUserBitmap(k, name, user, baseIova, { inPlace: opts.inPlace, label: `user-copy:get${opts.round}:${name}` });
  if (!r.ok) return EFAULT;
  obs(k, 'bitmap-report', { op: 'get', dma: name, inst: d.inst, bits: r.bits, nbits: d.pages });
  bitmapOf(d).clear(0, d.pages);
  wT(k, 'dma.bitmap', name);
  populate(k, name);
  return OK;
}

/**
 * The body of vfio_dma_do_unmap() for one dma once its pfn_list is empty: update_user_bitmap if
 * GET_DIRTY_BITMAP (a fault breaks out, the dma stays), then vfio_remove_dma. iommu->lock.
 */
export function unmapReportRemove(k: Kernel, name: string, flag: boolean): number {
  const d = k.t.s.dmas[name];
  if (flag) {
    const user = userBitmap(d.pages);
    const r = updateUserBitmap(k, name, user, d.iova, { inPlace: false, label: `user-copy:unmap:${name}` });
    if (!r.ok) return EFAULT;
    obs(k, 'bitmap-report', { op: 'unmap', dma: name, inst: d.inst, bits: r.bits, nbits: d.pages });
  }
  removeDma(k, name, flag, 'vfio_dma_do_unmap');
  return OK;
}

// ------------------------------------------------------------------ attach / detach

/**
 * vfio_iommu_type1_attach_group(): iommu->lock. Emulated groups are born in pinned scope and
 * not counted. IOMMU groups join a compatible domain (`sharing: shared`, no replay) or get a
 * new one (vfio_iommu_replay pins and maps every dma not yet mapped; it can fail and unwinds),
 * then num_non_pinned_groups++.
 */
export function attachGroup(k: Kernel, g: string, kind: 'iommu' | 'emulated'): number {
  const s = k.t.s;
  if (s.groups[g]) return EINVAL;
  sleeps(k, 'vfio_iommu_type1_attach_group:kzalloc');
  if (allocFails(k.data, 'alloc:group', g, k.rates.allocFail)) return ENOMEM;
  if (kind === 'emulated') {
    s.groups[g] = { kind, scope: true, domain: null };
    s.emulated.unshift(g);
    wT(k, 'groups', g);
    wT(k, 'emulated');
    if (s.mode === 'bool' && !s.pinnedScope) {
      s.pinnedScope = walkScope(k, 'attach');
      wT(k, 'pinnedScope');
    }
    obs(k, 'group-attach', { g, kind, scope: true, domain: null });
    return OK;
  }
  if (allocFails(k.data, 'alloc:domain', g, k.rates.allocFail)) return ENOMEM;
  let domain: string;
  if (k.sharing === 'shared' && s.domains.length > 0) {
    domain = s.domains[0].id;
    s.domains[0].groups.unshift(g);
  } else {
    const names = k.t.dmaNames();
    if (names.some((n) => !s.dmas[n].mapped)) {
      sleeps(k, 'vfio_iommu_replay:vfio_pin_pages_remote');
      if (k.data.fault(`gup:replay:${g}`, k.rates.gupFail)) return EFAULT;
    }
    for (const n of names) {
      const d = s.dmas[n];
      if (d.mapped) continue;
      for (let i = 0; i < d.pages; i++) k.pins.table.pin(d.pfnBase + i, `map:${d.inst}`);
      k.pins.table.account(VM, d.pages - vpfnCount(d));
      d.mapped = true;
      wT(k, 'dma.mapped', n);
    }
    domain = `dom${++s.seq.domain}`;
    s.domains.unshift({ id: domain, groups: [g] });
  }
  s.groups[g] = { kind, scope: false, domain };
  wT(k, 'groups', g);
  wT(k, 'domains');
  demote(k);
  obs(k, 'group-attach', { g, kind, scope: false, domain });
  return OK;
}

/**
 * vfio_iommu_type1_detach_group(): iommu->lock. Removes the group; an empty domain goes (the last
 * one takes every mapping with it: unmap_unpin_all without emulated groups, reaccount with
 * them). Then, for a group not in pinned scope, num_non_pinned_groups-- and, while tracking,
 * vfio_iommu_populate_bitmap_full (d0a78f91761f).
 * opts.populateFull false: before d0a78f91761f. opts.earlyReturn: the refactor revision that
 * returns when the domain keeps other groups, before the scope update.
 */
export function detachGroup(k: Kernel, g: string, opts: { populateFull: boolean; earlyReturn: boolean }): number {
  const s = k.t.s;
  const grp = s.groups[g];
  if (!grp) return EINVAL;
  const scopeWas = grp.scope;
  const update = !grp.scope;
  delete s.groups[g];
  wT(k, 'groups', g);
  let skip = false;
  if (grp.kind === 'emulated') {
    s.emulated = s.emulated.filter((x) => x !== g);
    wT(k, 'emulated');
    if (s.emulated.length === 0 && s.domains.length === 0) unmapUnpinAll(k, 'vfio_iommu_unmap_unpin_all');
  } else {
    const dom = s.domains.find((d) => d.id === grp.domain)!;
    dom.groups = dom.groups.filter((x) => x !== g);
    wT(k, 'domains');
    if (dom.groups.length === 0) {
      if (s.domains.length === 1) {
        if (s.emulated.length === 0) unmapUnpinAll(k, 'vfio_iommu_unmap_unpin_all');
        else unmapUnpinReaccount(k);
      }
      s.domains = s.domains.filter((d) => d !== dom);
    } else if (opts.earlyReturn) {
      skip = true;
    }
  }
  if (update && !skip) {
    promoteSummary(k, 'detach');
    if (s.tracking && opts.populateFull) populateFull(k);
  }
  const bitmaps: Record<string, string> = {};
  for (const n of k.t.dmaNames()) {
    const d = s.dmas[n];
    if (d.bitmap) bitmaps[n] = bitString(d.bitmap, d.pages);
  }
  obs(k, 'group-detach', { g, kind: grp.kind, scopeWas, tracking: s.tracking, updated: update && !skip, bitmaps });
  return OK;
}

// ------------------------------------------------------------------ DIRTY_PAGES START / STOP

/** START: vfio_dma_bitmap_alloc_all (a failure frees the earlier ones: -ENOMEM) then tracking. */
export function startTracking(k: Kernel): number {
  const s = k.t.s;
  if (s.tracking) return OK;
  const names = k.t.dmaNames();
  for (let i = 0; i < names.length; i++) {
    if (!allocBitmap(k, names[i], 'vfio_dma_bitmap_alloc_all')) {
      for (let j = i - 1; j >= 0; j--) freeBitmap(k, names[j], 'vfio_dma_bitmap_alloc_all');
      return ENOMEM;
    }
    populate(k, names[i]);
  }
  s.tracking = true;
  wT(k, 'tracking');
  obs(k, 'tracking', { on: true });
  return OK;
}

/** STOP: tracking off, vfio_dma_bitmap_free_all. */
export function stopTracking(k: Kernel): number {
  const s = k.t.s;
  if (!s.tracking) return OK;
  s.tracking = false;
  wT(k, 'tracking');
  for (const n of k.t.dmaNames()) freeBitmap(k, n, 'vfio_dma_bitmap_free_all');
  obs(k, 'tracking', { on: false });
  return OK;
}

// ------------------------------------------------------------------ pin / unpin

/**
 * One page of vfio_iommu_type1_pin_pages(): iommu->lock. -EINVAL with no registered dma_unmap
 * device or no dma; an existing vpfn gets ref_count++ and no bit; otherwise
 * vfio_pin_page_external (GUP, RLIMIT when no domain) and vfio_add_to_pfn_list (kzalloc), then
 * the bit if tracking. `leakOnVpfnAllocFail`: before 2e6cfd496f5b the kzalloc failure path called
 * vfio_unpin_page_external(), which finds no vpfn, so the GUP pin and locked_vm leak.
 */
export function pinPage(k: Kernel, dev: string, name: string, idx: number, opts: { leakOnVpfnAllocFail: boolean }): { ret: number; page?: string } {
  const s = k.t.s;
  if (s.devList.length === 0) return { ret: EINVAL };
  const d = s.dmas[name];
  if (!d || idx >= d.pages) return { ret: EINVAL };
  const page = pageId(d.inst, idx);
  if (d.pfn[idx]) {
    d.pfn[idx]++;
    wT(k, 'dma.pfn', name);
    return { ret: OK, page };
  }
  const doAcct = s.domains.length === 0;
  sleeps(k, 'vfio_pin_page_external:pin_user_pages_remote');
  if (k.data.fault(`gup:pin:${dev}:${name}`, k.rates.gupFail)) return { ret: EFAULT };
  const pfn = d.pfnBase + idx;
  k.pins.table.pin(pfn, `vpfn:${d.inst}`);
  if (doAcct) {
    if (k.data.fault(`acct:pin:${dev}:${name}`, k.rates.enomem)) {
      unpinOrThrow(k, pfn, `vpfn:${d.inst}`);
      return { ret: ENOMEM };
    }
    k.pins.table.account(VM, 1);
  }
  sleeps(k, 'vfio_add_to_pfn_list:kzalloc');
  if (allocFails(k.data, 'alloc:vpfn', `${dev}:${name}`, k.rates.allocFail)) {
    if (!opts.leakOnVpfnAllocFail) {
      unpinOrThrow(k, pfn, `vpfn:${d.inst}`);
      if (doAcct) k.pins.table.account(VM, -1);
    }
    return { ret: ENOMEM };
  }
  d.pfn[idx] = 1;
  wT(k, 'dma.pfn', name);
  if (s.tracking) setBits(k, name, idx, 1, 'vfio_iommu_type1_pin_pages');
  return { ret: OK, page };
}

/** vfio_unpin_page_external(): ref_count--, at 0 put_pfn + remove (+ locked_vm). iommu->lock. */
function unpinExternal(k: Kernel, name: string, idx: number): void {
  const d = k.t.s.dmas[name];
  if (!d.pfn[idx]) return;
  d.pfn[idx]--;
  if (d.pfn[idx] === 0) {
    delete d.pfn[idx];
    unpinOrThrow(k, d.pfnBase + idx, `vpfn:${d.inst}`);
    if (k.t.s.domains.length === 0) k.pins.table.account(VM, -1);
  }
  wT(k, 'dma.pfn', name);
}

/** The dma of a page id, if that instance is still mapped. */
function dmaOfPage(k: Kernel, page: string): { name: string; idx: number } | null {
  const [inst, idx] = page.split(':');
  const name = inst.split('#')[0];
  const d = k.t.s.dmas[name];
  return d && d.inst === inst ? { name, idx: Number(idx) } : null;
}

/** pin_unwind: vfio_unpin_page_external for the pages pinned so far by this call. iommu->lock. */
export function pinUnwind(k: Kernel, pages: string[]): void {
  for (const p of pages) {
    const at = dmaOfPage(k, p);
    if (at) unpinExternal(k, at.name, at.idx);
  }
}

/**
 * The end of a successful vfio_iommu_type1_pin_pages(): find the group; if it is not in pinned
 * scope, scope = true and num_non_pinned_groups--. `populateOnPromotion` (the fixed model of the
 * IOMMU-backed pinner world, derived): while tracking, a promotion also sets every bit, as
 * detach does, so DMA the group made before its first pin is not lost. iommu->lock.
 */
export function promoteScope(k: Kernel, g: string, opts: { complete: boolean; populateOnPromotion: boolean }): void {
  const s = k.t.s;
  const grp = s.groups[g];
  if (!grp) throw new Error(`model: vfio_iommu_find_iommu_group(${g}) found no group (NULL dereference in the kernel)`);
  if (grp.scope) return;
  grp.scope = true;
  wT(k, 'groups', g);
  promoteSummary(k, 'pin');
  obs(k, 'scope-change', { g, kind: grp.kind, from: false, to: true, cause: 'pin', pinComplete: opts.complete, devCounter: k.core.s[g].devCounter });
  if (s.tracking && opts.populateOnPromotion) populateFull(k);
}

/** The driver records the pages vfio_pin_pages returned (its own lock; see state/pins.ts). */
export function recordPins(k: Kernel, dev: string, pages: string[]): void {
  const t = k.pins.driverOf(dev);
  for (const p of pages) t[p] = (t[p] ?? 0) + 1;
}

/**
 * The driver calls vfio_unpin_pages for pages it holds (vfio_iommu_type1_unpin_pages:
 * iommu->lock), dropping them from its table. Pages of a dma instance already gone are dropped
 * from the table only.
 */
export function unpinPages(k: Kernel, dev: string, pages: string[]): string[] {
  const t = k.pins.driverOf(dev);
  const done: string[] = [];
  for (const p of pages) {
    if (!t[p]) continue;
    const at = dmaOfPage(k, p);
    if (at) unpinExternal(k, at.name, at.idx);
    t[p]--;
    if (t[p] === 0) delete t[p];
    done.push(p);
  }
  if (done.length) obs(k, 'unpin', { dev, pages: done });
  return done;
}

/** Every page `dev` holds (with repeats for multiple pins). */
export function heldPages(k: Kernel, dev: string, inst?: string): string[] {
  const out: string[] = [];
  for (const [p, n] of Object.entries(k.pins.s.driver[dev] ?? {})) if (!inst || p.startsWith(`${inst}:`)) for (let i = 0; i < n; i++) out.push(p);
  return out;
}

/**
 * A driver's dma_unmap callback for `inst` (vendor drivers MUST unpin): unpin every page it holds
 * in the range and never pin that instance again. Runs in the unmapping thread, under
 * iommu->lock (vfio_unpin_pages takes it).
 */
export function dmaUnmapCallback(k: Kernel, dev: string, inst: string): void {
  unpinPages(k, dev, heldPages(k, dev, inst));
  const inv = (k.pins.s.invalid[dev] ??= []);
  if (!inv.includes(inst)) inv.push(inst);
}

// ------------------------------------------------------------------ vfio_dma_rw

/**
 * One chunk of vfio_iommu_type1_dma_rw() (write): iommu->lock. copy_to_user of the whole count
 * or nothing; if copied and tracking, bitmap_set of the pages touched. `countFromOffset` false is
 * the pre-2c5af98592f6 count (copied >> pgshift from offset >> pgshift).
 */
export function dmaRwChunk(k: Kernel, dev: string, g: string, name: string, off: number, len: number, opts: { countFromOffset: boolean }): { ret: number; done: number } {
  const s = k.t.s;
  const d = s.dmas[name];
  if (!d) return { ret: EINVAL, done: 0 };
  const size = d.pages * k.pageSize;
  const count = Math.min(len, size - off);
  obs(k, 'might-fault', { path: 'vfio_iommu_type1_dma_rw_chunk:copy_to_user' });
  const copied = k.data.fault(`user-copy:rw:${dev}:${name}`, k.rates.userFault) ? 0 : count;
  const sh = pgshift(k.pageSize);
  let setStart = 0;
  let setCount = 0;
  if (copied && s.tracking) {
    setStart = off >> sh;
    setCount = opts.countFromOffset ? ((off + copied - 1) >> sh) - (off >> sh) + 1 : copied >> sh;
    setBits(k, name, setStart, setCount, 'vfio_iommu_type1_dma_rw_chunk');
  }
  obs(k, 'dma-rw', { dev, dma: name, inst: d.inst, offset: off, copied, pgshift: sh, setStart, setCount, tracking: s.tracking });
  if (copied) for (let p = off >> sh; p <= (off + copied - 1) >> sh; p++) obs(k, 'dirty-write', { dev, g, dma: name, inst: d.inst, idx: p, via: 'dma_rw', tracking: s.tracking });
  return { ret: copied ? OK : EFAULT, done: copied };
}

// ------------------------------------------------------------------ device registration

/** vfio_iommu_type1_register_device(): iommu->lock and device_list_lock both held. */
export function registerDevice(k: Kernel, dev: string): void {
  if (k.t.s.devList.includes(dev)) return;
  k.t.s.devList.unshift(dev);
  wT(k, 'devList');
}

/** vfio_iommu_type1_unregister_device(): both locks held. */
export function unregisterDevice(k: Kernel, dev: string): void {
  k.t.s.devList = k.t.s.devList.filter((d) => d !== dev);
  wT(k, 'devList');
}

// ------------------------------------------------------------------ vfio core (group)

/** vfio_group_get_from_dev() (≤6.0 vfio_pin_pages): kref_get. */
export function groupGet(k: Kernel, g: string, path: string): void {
  k.core.s[g].refs++;
  obs(k, 'group-ref', { g, delta: 1, path });
}

export function groupPut(k: Kernel, g: string, path: string): void {
  k.core.s[g].refs--;
  obs(k, 'group-ref', { g, delta: -1, path });
}

/**
 * A device joins group `g` (vfio_group_create_device / __vfio_register_dev): under device_lock,
 * devices and dev_counter. `refuse`: the seed's refuse-join (never merged): -EBUSY while the
 * group has pinned pages.
 */
export function joinGroup(k: Kernel, g: string, dev: string, refuse: boolean): number {
  const c = k.core.s[g];
  if (refuse && c.hasPinned) return EBUSY;
  c.devices.push(dev);
  c.devCounter++;
  c.open++;
  wC(k, g, 'devices');
  wC(k, g, 'devCounter');
  wC(k, g, 'open');
  return OK;
}

/** The refuse-join flag (device_lock). */
export function setHasPinned(k: Kernel, g: string, v: boolean): void {
  if (k.core.s[g].hasPinned === v) return;
  k.core.s[g].hasPinned = v;
  wC(k, g, 'hasPinned');
}

/** A device closes (device_lock): the group may leave its container once none is open. */
export function closeDevice(k: Kernel, g: string): void {
  k.core.s[g].open--;
  wC(k, g, 'open');
}

/**
 * reset-on-join: the joining device demotes its group's scope (device_lock, then iommu->lock),
 * so the group counts as non-pinned again.
 */
export function resetScopeOnJoin(k: Kernel, g: string): void {
  const grp = k.t.s.groups[g];
  if (!grp || !grp.scope) return;
  grp.scope = false;
  wT(k, 'groups', g);
  demote(k);
  obs(k, 'scope-change', { g, kind: grp.kind, from: true, to: false, cause: 'join', pinComplete: false, devCounter: k.core.s[g].devCounter });
}

// ------------------------------------------------------------------ lock release summary

/** The state monitors judge at a release of iommu->lock. */
export function unlockSummary(k: Kernel, op: string): VfioObs['iommu-unlock'] {
  const s = k.t.s;
  const dmas: DmaView[] = k.t.dmaNames().map((n) => {
    const d = s.dmas[n];
    return {
      dma: n,
      inst: d.inst,
      pages: d.pages,
      mapped: d.mapped,
      pfn: { ...d.pfn },
      bitmap: d.bitmap ? d.bitmap.slice(0, d.pages).join('') : null,
      extra: d.bitmap ? d.bitmap.slice(d.pages).reduce((a, b) => a + b, 0) : 0,
    };
  });
  const gup: Record<string, number> = {};
  for (const n of k.t.dmaNames()) {
    const d = s.dmas[n];
    for (let i = 0; i < d.pages; i++) {
      const c = k.pins.table.count(d.pfnBase + i);
      if (c) gup[pageId(d.inst, i)] = c;
    }
  }
  // Pins of pages whose dma is gone (a leak) are named by pfn.
  for (const o of k.pins.table.outstanding()) {
    const at = o.indexOf(':');
    const pfn = o.slice(0, at);
    const holder = o.slice(at + 1);
    const inst = holder.slice(holder.indexOf(':') + 1);
    if (!Object.values(s.dmas).some((d) => d.inst === inst)) gup[`pfn${pfn}(${holder})`] = (gup[`pfn${pfn}(${holder})`] ?? 0) + 1;
  }
  return {
    op,
    counter: s.counter,
    pinnedScope: s.pinnedScope,
    mode: s.mode,
    tracking: s.tracking,
    lockedVm: k.pins.table.lockedVm(VM),
    domains: s.domains.length,
    groups: k.t.walkOrder().map((g) => ({ g, kind: s.groups[g].kind, scope: s.groups[g].scope })),
    dmas,
    gup,
    driver: structuredClone(k.pins.s.driver),
  };
}
