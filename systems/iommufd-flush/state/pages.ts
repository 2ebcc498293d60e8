/**
 * drivers/iommu/iommufd/pages.c as steps over the shared state: the pfn_reader (xarray, then a
 * storage domain, then GUP), batch_to_domain, the fill of one area into its IOAS's domains
 * (iopt_area_fill_domains, MAP) or into one new domain (iopt_area_fill_domain, attach), the
 * storage-domain unfill with its read-ahead and carry (__iopt_area_unfill_domain /
 * iopt_area_unpin_domain), and in-kernel accesses (iopt_area_add_access / remove_access).
 *
 * The reader, the batch and the unfill cursor are the thread's stack: plain data kept in the
 * stepping actor's context and passed in and out. Every function runs under the pages->mutex of
 * its P (asserted where a field is written). Kernel facts: the research note's F1-F8 (torvalds
 * pages.c @0604aa87, v6.3-era, and the 6.17-rc copies); where today's code and that tree differ
 * the fixed model is today's and the older behaviour a variant guard (carryKeepsEnd,
 * unpinLastFromStartIndex).
 */
import { type Batch, type Span, batchAddPfn, batchClear, batchClearCarry, batchInit, batchPfnAt, batchSkipCarry, doubleSpans } from './batch.ts';
import type { Area, Domain, Pages, UnpinPath } from '../types.ts';
import type { IommufdState } from './iommufd.ts';
import { type FillItem, type Src, type UnmapPlan, fillFlushes, finishUnmap, flushPfns, onNcMap, planUnmap, seedCfr, unpinFlush } from './policy.ts';

const EINVAL = -22;
const ENOMEM = -12;
const EFAULT = -14;

// ---- batch <-> domain / xarray / pages ------------------------------------------------------

/** batch_from_domain(): read PFNs back from `d` for [start, last] until the batch is full. */
export function batchFromDomain(st: IommufdState, b: Batch, d: Domain, area: Area, start: number, last: number): void {
  st.use(d.id, 'iommu_iova_to_phys');
  let iova = area.iova + (start - area.start);
  while (start <= last) {
    if (!batchAddPfn(b, st.iovaToPfn(d, iova))) return;
    iova++;
    start++;
  }
}

/** batch_from_domain_continue(): read ahead while the pfns stay contiguous with the last entry. */
export function batchFromDomainContinue(st: IommufdState, b: Batch, d: Domain, area: Area, start: number, last: number): void {
  const size = b.arraySize;
  b.arraySize = b.end;
  batchFromDomain(st, b, d, area, start, last);
  b.arraySize = size;
}

/**
 * batch_to_domain(): map the batch at `start` (an index of the area) into `d`. One fail site per
 * call (iommu_map's allocation); on error what this call mapped is unmapped again.
 */
export function batchToDomain(st: IommufdState, b: Batch, d: Domain, area: Area, p: Pages, start: number): number {
  st.use(d.id, 'iommu_map');
  if (st.fault('iommu_map')) return ENOMEM;
  const mapped: number[] = [];
  let idx = start;
  for (let cur = 0; cur < b.end; cur++) {
    for (let k = 0; k < b.npfns[cur]; k++, idx++) {
      const iova = area.iova + (idx - area.start);
      if (iova > area.last) break;
      const rc = st.mapPte(d, iova, { pfn: b.pfns[cur] + k, p: p.id, idx });
      if (rc) {
        for (const i of mapped) st.unmapPte(d, i);
        return rc;
      }
      mapped.push(iova);
      onNcMap(st, p, idx, d);
    }
  }
  return 0;
}

/**
 * batch_unpin(batch, pages, first_page_off, npages): unpin npages pfns from position
 * first_page_off of the batch (`base` is the P index of position 0, for the monitors and the
 * per-index policy state). H-unpin runs before each unpin. An entry may hold no pfn (a carry that
 * batch_skip_carry() consumed): it is stepped over as in C. Walking past the array (C reads
 * whatever follows it) stops with a WARN.
 */
export function batchUnpin(st: IommufdState, b: Batch, p: Pages, firstOff: number, npages: number, base: number, path: UnpinPath, ioas: number): void {
  let cur = 0;
  let pos = firstOff;
  while (firstOff) {
    if (cur >= b.arraySize) return st.warn('batch_unpin', 'walked past the batch array');
    if (b.npfns[cur] > firstOff) break;
    firstOff -= b.npfns[cur];
    cur++;
  }
  while (npages > 0) {
    if (cur >= b.arraySize) return st.warn('batch_unpin', `walked past the batch array (end ${b.end}): ${npages} page(s) not unpinned`);
    const n = Math.max(0, Math.min(npages, b.npfns[cur] - firstOff));
    for (let k = 0; k < n; k++, pos++) {
      const pfn = b.pfns[cur] + firstOff + k;
      unpinFlush(st, p, base + pos, pfn, path, ioas);
      st.unpin(p, base + pos, pfn, path);
    }
    cur++;
    firstOff = 0;
    npages -= n;
  }
}

/** Unpin a list of (index, pfn) (unpin_user_pages of a page list: the error paths). */
export function unpinList(st: IommufdState, p: Pages, items: { idx: number; pfn: number }[], path: UnpinPath, ioas: number): void {
  for (const { idx, pfn } of items) {
    unpinFlush(st, p, idx, pfn, path, ioas);
    st.unpin(p, idx, pfn, path);
  }
}

// ---- pfn_reader -------------------------------------------------------------------------------

export interface Reader {
  p: string;
  start: number;
  last: number;
  batchStart: number;
  batchEnd: number;
  batch: Batch;
  spans: Span[];
  spanIdx: number;
  /** pfn_reader_user: pinned pages not yet moved into a batch, [upagesStart, upagesEnd). */
  upages: number[];
  upagesStart: number;
  upagesEnd: number;
  /** upages_len in pages, fixed at the first allocation (0: not allocated). */
  upagesLen: number;
  /** Where each index of the current batch came from (the model's record; the C batch has none). */
  src: Record<number, Src>;
}

/** iopt_pages_find_domain_area(): the leftmost filled area whose pages_node covers idx. */
function findDomainArea(st: IommufdState, p: Pages, idx: number): Area | null {
  const nodes = p.domainsItree.filter((n) => n.start <= idx && idx <= n.last).sort((a, b) => a.start - b.start);
  if (!nodes.length) return null;
  const a = st.s.areas[nodes[0].area];
  st.use(nodes[0].area, 'iopt_pages_find_domain_area');
  return a ?? null;
}

function userPin(st: IommufdState, r: Reader, p: Pages, start: number, last: number): number {
  if (!r.upagesLen) {
    if (st.fault('kmalloc:upages')) return ENOMEM;
    r.upagesLen = last - start + 1;
  }
  if (st.fault('gup', { gup: true })) return EFAULT;
  const n = Math.min(last - start + 1, r.upagesLen);
  r.upages = [];
  for (let i = 0; i < n; i++) r.upages.push(st.pin(p, start + i));
  r.upagesStart = start;
  r.upagesEnd = start + n;
  return 0;
}

/** pfn_reader_fill_span(). */
function fillSpan(st: IommufdState, r: Reader, p: Pages): number {
  const span = r.spans[r.spanIdx];
  const start = r.batchEnd;
  const before = r.batch.total;
  const mark = (src: Src) => {
    for (let i = 0; i < r.batch.total - before; i++) r.src[start + i] = src;
  };
  if (span.used === 1) {
    for (let i = start; i <= span.last; i++) if (!batchAddPfn(r.batch, p.xarray[i] ?? 0)) break;
    mark('xa');
    return 0;
  }
  if (span.used === 2) {
    const area = findDomainArea(st, p, start);
    if (!area || area.freed || !area.storage) {
      st.warn('pfn_reader_fill_span', `no filled area of ${p.id} covers index ${start}`);
      return EINVAL;
    }
    batchFromDomain(st, r.batch, st.domain(area.storage), area, start, Math.min(area.lastIdx, span.last));
    mark(`dom:${area.id}`);
    return 0;
  }
  if (start >= r.upagesEnd) {
    const rc = userPin(st, r, p, start, span.last);
    if (rc) return rc;
  }
  for (let i = start - r.upagesStart; i < r.upages.length; i++) if (!batchAddPfn(r.batch, r.upages[i])) break;
  mark('gup');
  return 0;
}

export function readerDone(r: Reader): boolean {
  return r.batchStart === r.last + 1;
}

/** pfn_reader_next(). */
export function readerNext(st: IommufdState, r: Reader): number {
  const p = st.pages(r.p);
  batchClear(r.batch);
  r.src = {};
  r.batchStart = r.batchEnd;
  while (r.batchEnd !== r.last + 1) {
    const npfns = r.batch.total;
    const rc = fillSpan(st, r, p);
    if (rc) return rc;
    if (!r.batch.total) {
      st.warn('pfn_reader_next', 'empty batch');
      return EINVAL;
    }
    r.batchEnd = r.batchStart + r.batch.total;
    if (r.batchEnd === r.spans[r.spanIdx].last + 1) r.spanIdx++;
    if (npfns === r.batch.total) return 0;
  }
  return 0;
}

/** pfn_reader_first(): init (the batch allocation can fail) and read the first batch. */
export function readerFirst(st: IommufdState, p: Pages, start: number, last: number, ioas: number): { rc: number; r: Reader | null } {
  if (st.fault('kmalloc:batch')) return { rc: ENOMEM, r: null };
  const r: Reader = {
    p: p.id,
    start,
    last,
    batchStart: start,
    batchEnd: start,
    batch: batchInit(last - start + 1, st.cfg.batchEntries),
    spans: doubleSpans(p.accessItree, p.domainsItree, start, last),
    spanIdx: 0,
    upages: [],
    upagesStart: 0,
    upagesEnd: 0,
    upagesLen: 0,
    src: {},
  };
  const rc = readerNext(st, r);
  if (rc) {
    readerDestroy(st, r, ioas);
    return { rc, r: null };
  }
  return { rc: 0, r };
}

/** pfn_reader_unpin(): unpin the batch's pages that no itree holds. */
function readerUnpin(st: IommufdState, r: Reader, p: Pages, ioas: number): void {
  const start = r.batchStart;
  for (const s of doubleSpans(p.accessItree, p.domainsItree, start, r.batchEnd - 1)) {
    if (s.used) continue;
    batchUnpin(st, r.batch, p, s.start - start, s.last - s.start + 1, start, 'reader', ioas);
  }
}

/** pfn_reader_release_pins(). */
export function readerReleasePins(st: IommufdState, r: Reader, ioas: number): void {
  const p = st.pages(r.p);
  if (r.upagesEnd > r.batchEnd) {
    const items: { idx: number; pfn: number }[] = [];
    for (let idx = r.batchEnd; idx < r.upagesEnd; idx++) items.push({ idx, pfn: r.upages[idx - r.upagesStart] });
    unpinList(st, p, items, 'reader', ioas);
    r.upagesEnd = r.batchEnd;
  }
  if (r.batchStart !== r.batchEnd) {
    readerUnpin(st, r, p, ioas);
    r.batchStart = r.batchEnd;
  }
}

/** pfn_reader_destroy(). */
export function readerDestroy(st: IommufdState, r: Reader, ioas: number): void {
  readerReleasePins(st, r, ioas);
  const p = st.pages(r.p);
  if (p.lastNpinned !== p.npinned) st.warn('pfn_reader_destroy', `${p.id} last_npinned ${p.lastNpinned} != npinned ${p.npinned}`);
}

/** pfn_reader_user_update_pinned(): locked_vm catches up with npinned (an increase can fail). */
export function updatePinned(st: IommufdState, p: Pages): number {
  if (p.npinned === p.lastNpinned) return 0;
  if (p.npinned > p.lastNpinned && st.fault('locked_vm', { sleeps: false })) return ENOMEM;
  st.accountPinned(p, p.npinned - p.lastNpinned);
  return 0;
}

/** update_unpinned(): after unpins; WARN_ON(npinned > last_npinned). */
export function updateUnpinned(st: IommufdState, p: Pages): void {
  if (p.npinned > p.lastNpinned) return st.warn('update_unpinned', `${p.id} npinned ${p.npinned} > last_npinned ${p.lastNpinned}`);
  if (p.npinned === p.lastNpinned) return;
  st.accountPinned(p, p.npinned - p.lastNpinned);
}

// ---- fill --------------------------------------------------------------------------------------

/**
 * One fill in progress (the locals of iopt_area_fill_domains / iopt_area_fill_domain):
 * `kind` domains: MAP, every domain of the IOAS; domain: attach, one new domain.
 */
export interface Fill {
  kind: 'domains' | 'domain';
  area: string;
  p: string;
  targets: string[];
  r: Reader | null;
  /** Domain index of the next batch_to_domain. */
  domIdx: number;
  doneFirstEnd: number;
  doneAllEnd: number;
  doneEnd: number;
  seedCfr: boolean;
}

export function fillInit(kind: Fill['kind'], area: Area, targets: string[]): Fill {
  return { kind, area: area.id, p: area.p, targets, r: null, domIdx: 0, doneFirstEnd: area.start, doneAllEnd: area.start, doneEnd: area.start, seedCfr: false };
}

/** pfn_reader_first() for the fill (the seed evaluates cache_flush_required around it). */
export function fillBegin(st: IommufdState, f: Fill): number {
  const area = st.area(f.area);
  const p = st.pages(f.p);
  if (f.kind === 'domain') f.seedCfr = seedCfr(st, area, p);
  const { rc, r } = readerFirst(st, p, area.start, area.lastIdx, area.ioas);
  if (rc) return rc;
  f.r = r;
  if (f.kind === 'domains') f.seedCfr = seedCfr(st, area, p);
  return 0;
}

/** H-fill: flush the current batch as the policy says. */
export function fillFlush(st: IommufdState, f: Fill): void {
  const r = f.r!;
  const area = st.area(f.area);
  const p = st.pages(f.p);
  const items: FillItem[] = [];
  for (let pos = 0; pos < r.batch.total; pos++) {
    const pfn = batchPfnAt(r.batch, pos);
    if (pfn === null) break;
    const idx = r.batchStart + pos;
    items.push({ idx, pfn, src: r.src[idx] ?? 'gup' });
  }
  const targets = f.targets.map((d) => st.domain(d));
  flushPfns(st, fillFlushes(st, area, p, items, targets, f.seedCfr), 'fill');
}

/**
 * batch_to_domain() into targets[domIdx]; after the last target, pfn_reader_next().
 * Returns rc, and whether the reader is done.
 */
export function fillMap(st: IommufdState, f: Fill): { rc: number; next: 'domain' | 'batch' | 'done'; failedDom: number } {
  const r = f.r!;
  const area = st.area(f.area);
  const p = st.pages(f.p);
  if (f.kind === 'domains') {
    if (f.domIdx === 0) {
      f.doneFirstEnd = r.batchEnd;
      f.doneAllEnd = r.batchStart;
    }
  } else f.doneEnd = r.batchStart;
  const rc = batchToDomain(st, r.batch, st.domain(f.targets[f.domIdx]), area, p, r.batchStart);
  if (rc) return { rc, next: 'done', failedDom: f.domIdx };
  f.domIdx++;
  if (f.domIdx < f.targets.length) return { rc: 0, next: 'domain', failedDom: -1 };
  f.domIdx = 0;
  if (f.kind === 'domains') f.doneAllEnd = f.doneFirstEnd;
  else f.doneEnd = r.batchEnd;
  const rn = readerNext(st, r);
  if (rn) return { rc: rn, next: 'done', failedDom: f.targets.length };
  return { rc: 0, next: readerDone(r) ? 'done' : 'batch', failedDom: -1 };
}

/**
 * The fill's end: pfn_reader_update_pinned(), then (MAP) storage_domain = domains[0] and the
 * itree insert, or (attach, iopt_fill_domain) the same if the area had no storage domain yet;
 * the reader is destroyed. Returns rc (the caller unwinds on error).
 */
export function fillFinish(st: IommufdState, f: Fill, g: { storage: (domains: string[]) => string | null }): number {
  const r = f.r!;
  const area = st.area(f.area);
  const p = st.pages(f.p);
  const rc = updatePinned(st, p);
  if (rc) return rc;
  if (f.kind === 'domains') {
    const s = g.storage(st.iopt(area.ioas).domains);
    st.setStorage(area, s, 'iopt_area_fill_domains');
    area.storageNc = s ? st.domain(s).nc : false;
    st.itreeInsert(p, area);
  } else if (!area.storage) {
    if (st.iopt(area.ioas).domains.length !== 0) st.warn('iopt_fill_domain', `${area.id} has no storage domain but next_domain_id != 0`);
    st.setStorage(area, f.targets[0], 'iopt_fill_domain');
    area.storageNc = st.domain(f.targets[0]).nc;
    st.itreeInsert(p, area);
  }
  readerDestroy(st, r, area.ioas);
  f.r = null;
  return 0;
}

/**
 * The fill's error path, everything the C function does after its `goto out_unmap` (one step: it
 * holds pages->mutex throughout). iopt_area_fill_domains: pfn_reader_release_pins(), then every
 * domain below the failing one is unmapped up to done_first_end_index and the others up to
 * done_all_end_index, the last one by unfill (unmap + unpin). `releaseFirst` is the kernel's
 * order (release the reader's pins, then unmap): it unpins the current batch while the domains
 * before the failing one still map it. The fixed model unmaps first (a derived finding).
 * iopt_area_fill_domain: release the pins, unfill the partial domain up to done_end_index.
 */
export function fillUnwind(st: IommufdState, f: Fill, failedDomIdx: number, releaseFirst: boolean, keys: UnfillKeys): void {
  const area = st.area(f.area);
  const p = st.pages(f.p);
  const r = f.r;
  if (f.kind === 'domain') {
    if (r) readerReleasePins(st, r, area.ioas);
    unfillPartial(st, area, p, st.domain(f.targets[0]), f.doneEnd, keys);
  } else {
    // The kernel releases the reader's pins first: the current batch is still mapped in the
    // domains below the failing one. The fixed order unmaps those first. The last domain never maps
    // the current batch, and its unfill (with update_unpinned) comes after the release either way.
    if (r && releaseFirst) readerReleasePins(st, r, area.ioas);
    const domains = f.targets;
    const lastIdx = domains.length - 1;
    domains.forEach((did, i) => {
      const end = i < failedDomIdx ? f.doneFirstEnd : f.doneAllEnd;
      if (i !== lastIdx && end !== area.start) unmapDomainRange(st, area, p, st.domain(did), area.start, end - 1, 'unmap');
    });
    if (r && !releaseFirst) readerReleasePins(st, r, area.ioas);
    unfillPartial(st, area, p, st.domain(domains[lastIdx]), lastIdx < failedDomIdx ? f.doneFirstEnd : f.doneAllEnd, keys);
  }
  if (r) readerDestroy(st, r, area.ioas);
  f.r = null;
}

// ---- unmap / unfill ------------------------------------------------------------------------------

/**
 * iopt_area_unmap_domain_range() with the policy's unmap hook: plan (read back what it will flush)
 * under pages->mutex, unmap, then flush.
 */
export function unmapDomainRange(st: IommufdState, area: Area, p: Pages, d: Domain, from: number, to: number, hook: 'unmap' | 'storage', known = false): void {
  const plan = planUnmap(st, area, p, d, from, to, hook, known);
  unmapExec(st, area, d, from, to);
  finishUnmap(st, plan, hook);
}

/** The IOPTE removal of an index range (iommu_unmap_nofail). */
export function unmapExec(st: IommufdState, area: Area, d: Domain, from: number, to: number): void {
  st.use(d.id, 'iommu_unmap');
  for (let idx = from; idx <= to; idx++) st.unmapPte(d, area.iova + (idx - area.start));
}

/** The guards the unfill consults: b7c822fa6b77 and 727c28c1cef2. */
export interface UnfillKeys {
  carryKeepsEnd: boolean;
  lastFromStartIndex: boolean;
}

/** The cursor of __iopt_area_unfill_domain() / iopt_area_unpin_domain(). */
export interface Unfill {
  area: string;
  p: string;
  dom: string;
  /** last_index of this unfill; real_last_index of iopt_area_unpin_domain. */
  last: number;
  spans: Span[];
  spanIdx: number;
  /** start_index inside the current hole span (-1: at the span's start). */
  pos: number;
  unmappedEnd: number;
  batch: Batch;
  batchLast: number;
  plan: UnmapPlan | null;
  /** 'storage': d is the area's storage domain; 'unmap': another domain (attach's out_unfill). */
  hook: 'storage' | 'unmap';
}

export function unfillInit(st: IommufdState, area: Area, p: Pages, d: Domain, last: number, hook: 'storage' | 'unmap' = 'storage'): Unfill {
  return {
    hook,
    area: area.id,
    p: p.id,
    dom: d.id,
    last,
    spans: doubleSpans(p.domainsItree, p.accessItree, area.start, last),
    spanIdx: 0,
    pos: -1,
    unmappedEnd: area.start,
    batch: batchInit(last + 1, st.cfg.batchEntries),
    batchLast: 0,
    plan: null,
  };
}

/**
 * One iteration of iopt_area_unpin_domain() up to its unmap (used spans before it only skip the
 * carry). Returns 'unpin' (the unmap is done; the unpin step follows) or 'done' (no hole left:
 * the residual unmap of a range ending in an access, and update_unpinned()).
 */
export function unfillChunk(st: IommufdState, u: Unfill, keys: UnfillKeys): 'unpin' | 'done' {
  const area = st.area(u.area);
  const p = st.pages(u.p);
  const d = st.domain(u.dom);
  const b = u.batch;
  while (u.spanIdx < u.spans.length && u.spans[u.spanIdx].used) {
    const s = u.spans[u.spanIdx];
    batchSkipCarry(b, s.last - s.start + 1);
    u.spanIdx++;
    u.pos = -1;
  }
  if (u.spanIdx >= u.spans.length) {
    if (u.unmappedEnd !== u.last + 1) unmapDomainRange(st, area, p, d, u.unmappedEnd, u.last, u.hook);
    if (b.total) st.warn('__iopt_area_unfill_domain', `batch still holds ${b.total} pfn(s)`);
    updateUnpinned(st, p);
    return 'done';
  }
  const span = u.spans[u.spanIdx];
  if (u.pos < 0) u.pos = span.start;
  const startIndex = u.pos;
  const lastIndex = span.last;
  if (u.unmappedEnd <= lastIndex) {
    const start = Math.max(startIndex, u.unmappedEnd);
    batchFromDomain(st, b, d, area, start, lastIndex);
    u.batchLast = (keys.lastFromStartIndex ? startIndex : start) + b.total - 1;
  } else u.batchLast = lastIndex;
  if (u.batchLast > u.last) st.warn('iopt_area_unpin_domain', `batch_last_index ${u.batchLast} > real_last_index ${u.last}`);
  if (u.batchLast === lastIndex && lastIndex !== u.last) batchFromDomainContinue(st, b, d, area, lastIndex + 1, u.last);
  u.plan = null;
  if (u.unmappedEnd <= u.batchLast) {
    const to = Math.min(startIndex + b.total - 1, area.lastIdx);
    u.plan = planUnmap(st, area, p, d, u.unmappedEnd, to, u.hook, true);
    unmapExec(st, area, d, u.unmappedEnd, to);
    u.unmappedEnd = startIndex + b.total;
  }
  return 'unpin';
}

/** The rest of the iteration: the H-storage flush, batch_unpin() ("unpin must follow unmap"), the carry. */
export function unfillUnpin(st: IommufdState, u: Unfill, keys: UnfillKeys): void {
  const p = st.pages(u.p);
  const area = st.area(u.area);
  if (u.plan) finishUnmap(st, u.plan, u.hook);
  u.plan = null;
  const startIndex = u.pos;
  batchUnpin(st, u.batch, p, 0, u.batchLast - startIndex + 1, startIndex, 'storage', area.ioas);
  u.pos = u.batchLast + 1;
  batchClearCarry(u.batch, u.unmappedEnd - u.batchLast - 1, keys.carryKeepsEnd);
  if (u.pos > u.spans[u.spanIdx].last) {
    u.spanIdx++;
    u.pos = -1;
  }
}

/** The whole unfill in one step (paths that hold pages->mutex and cannot interleave with it). */
export function unfillAll(st: IommufdState, area: Area, p: Pages, d: Domain, last: number, keys: UnfillKeys, hook: 'storage' | 'unmap' = 'storage'): void {
  const u = unfillInit(st, area, p, d, last, hook);
  for (let guard = 0; guard < 1000; guard++) {
    if (unfillChunk(st, u, keys) === 'done') return;
    unfillUnpin(st, u, keys);
  }
  throw new Error('unfill did not terminate');
}

/** iopt_area_unfill_partial_domain(). */
export function unfillPartial(st: IommufdState, area: Area, p: Pages, d: Domain, endIndex: number, keys: UnfillKeys): void {
  if (endIndex !== area.start) unfillAll(st, area, p, d, endIndex - 1, keys);
}

/**
 * iopt_area_unfill_domains() in one step (the MAP error path's undo of areas already filled):
 * every non-storage domain unmapped, the itree node removed, the storage domain unfilled.
 */
export function unfillDomainsAll(st: IommufdState, area: Area, p: Pages, keys: UnfillKeys): void {
  if (!area.storage) return;
  for (const did of st.iopt(area.ioas).domains) if (did !== area.storage) unmapDomainRange(st, area, p, st.domain(did), area.start, area.lastIdx, 'unmap');
  st.itreeRemove(p, area);
  unfillAll(st, area, p, st.domain(area.storage), area.lastIdx, keys);
  st.setStorage(area, null, 'iopt_area_unfill_domains');
}

// ---- in-kernel accesses --------------------------------------------------------------------------

/** iopt_pages_unfill_xarray(): after an access node is gone, unpin what nothing else holds. */
export function unfillXarray(st: IommufdState, p: Pages, start: number, last: number, ioas: number): void {
  for (const s of doubleSpans(p.accessItree, p.domainsItree, start, last)) {
    if (s.used === 1) continue;
    const items: { idx: number; pfn: number }[] = [];
    for (let idx = s.start; idx <= s.last; idx++) {
      const pfn = st.xaErase(p, idx);
      if (pfn !== undefined && s.used === 0) items.push({ idx, pfn });
    }
    // iopt_pages_unpin_xarray(): batch_from_xarray_clear + batch_unpin
    unpinList(st, p, items, 'xarray', ioas);
  }
  updateUnpinned(st, p);
}

/**
 * iopt_area_add_access() for [start, last] of the area (pages->mutex held by the caller's step):
 * an exact existing node gets one more user; otherwise a new node, the xarray filled from the
 * domain (readback) or by GUP (iopt_pages_fill_xarray), and update_pinned.
 */
export function addAccess(st: IommufdState, area: Area, start: number, last: number): number {
  const p = st.pages(area.p);
  const exact = p.accessItree.find((n) => n.start === start && n.last === last);
  if (exact) {
    area.numAccesses++;
    exact.users++;
    st.journal(`users:${p.id}:${start}-${last}`, 1);
    st.journal(`num_accesses:${area.id}`, 1);
    return 0;
  }
  if (st.fault('kzalloc:access')) return ENOMEM;
  let xaEnd = start;
  const clean = (rc: number) => {
    if (start !== xaEnd) unfillXarray(st, p, start, xaEnd - 1, area.ioas);
    return rc;
  };
  for (const s of doubleSpans(p.accessItree, p.domainsItree, start, last)) {
    if (s.used === 1) continue;
    const pfns: number[] = [];
    if (s.used === 2) {
      for (let idx = s.start; idx <= s.last; idx++) {
        const a = findDomainArea(st, p, idx);
        if (!a || !a.storage) {
          st.warn('iopt_pages_fill_from_domain', `no filled area of ${p.id} covers ${idx}`);
          return clean(EINVAL);
        }
        pfns.push(st.iovaToPfn(st.domain(a.storage), a.iova + (idx - a.start)));
      }
    } else {
      if (st.fault('gup', { gup: true })) return clean(EFAULT);
      for (let idx = s.start; idx <= s.last; idx++) pfns.push(st.pin(p, idx));
    }
    // pages_to_xarray(): fails (iommufd_should_fail) half way, after storing the first half.
    const half = Math.floor(pfns.length / 2);
    for (let i = 0; i < pfns.length; i++) {
      if (i === half && st.fault('pages_to_xarray', { sleeps: false })) {
        for (let j = 0; j < i; j++) st.xaErase(p, s.start + j);
        if (s.used === 0) unpinList(st, p, pfns.map((pfn, j) => ({ idx: s.start + j, pfn })), 'err', area.ioas);
        return clean(EINVAL);
      }
      st.xaStore(p, s.start + i, pfns[i]);
    }
    xaEnd = s.last + 1;
  }
  const rc = updatePinned(st, p);
  if (rc) return clean(rc);
  st.accessInsert(p, start, last);
  area.numAccesses++;
  st.journal(`num_accesses:${area.id}`, 1);
  return 0;
}

/** iopt_area_remove_access(). */
export function removeAccess(st: IommufdState, area: Area, start: number, last: number): void {
  const p = st.pages(area.p);
  const node = p.accessItree.find((n) => n.start === start && n.last === last);
  if (!node) return st.warn('iopt_area_remove_access', `no access [${start},${last}] in ${p.id}`);
  if (area.numAccesses === 0 || node.users === 0) st.warn('iopt_area_remove_access', `${area.id} num_accesses ${area.numAccesses}, users ${node.users}`);
  area.numAccesses--;
  node.users--;
  st.journal(`num_accesses:${area.id}`, -1);
  if (node.users) {
    st.journal(`users:${p.id}:${start}-${last}`, -1);
    return;
  }
  st.accessRemove(p, start, last);
  unfillXarray(st, p, start, last, area.ioas);
}
