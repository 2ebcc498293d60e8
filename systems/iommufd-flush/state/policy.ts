/**
 * The cache-flush policies side by side (--set policy=...). Each decides, at four hooks, which page
 * frames to flush (CLFLUSHOPT, write back + invalidate):
 *   H-fill    before a batch is mapped (batch_to_domain) into the fill's target domains;
 *   H-unmap   when an area is unmapped from a domain that is not the storage domain (the PFNs must
 *             be read back before the unmap, iommu_iova_to_phys: a `readback`), flushed after it;
 *   H-storage the storage domain's unfill (the PFNs are in the batch), flushed after the unmap;
 *   H-unpin   in batch_unpin() and the error unpins, before unpin_user_page*().
 *
 *   none          upstream today: never (the leak the seed describes).
 *   seed          the v1 patch: H-fill flushes every batch pfn iff `cfr` = noncoherent_domain_cnt>0
 *                 && !pages->cache_flush_required, evaluated once per fill (iopt_area_fill_domain:
 *                 before pfn_reader_first; fill_domains: after it), and sets the flag; H-unpin iff
 *                 the flag.
 *   per-fill      the design the reviewers converged on (Yan 2024-05-16 summary, with Jason's
 *                 2024-05-21 single sticky bit): H-fill flushes iff any target domain is
 *                 non-coherent (fill_domains: any IOAS domain; fill_domain: the target, known per
 *                 domain in 6.17 through domain->iommufd_hwpt), and sets the sticky bit; H-unpin
 *                 iff sticky. THE FIXED MODEL.
 *   sticky-lazy   Jason 2024-05-21 "overflush": once sticky, flush on every map and unmap.
 *   storage-hint  Jason 2024-05-10/17: skip the H-fill flush of PFNs read back from a non-coherent
 *                 storage domain (area->storage_domain_is_noncoherent); flush after unmapping from
 *                 a non-coherent domain (H-unmap, H-storage with the hint).
 *   per-span      derived ("span by span", Jason 2024-05-14): a per-index count of non-coherent
 *                 IOPTEs; flush when it goes 0->1 (before the map) and 1->0 (after the unmap).
 *
 * Every decision goes through a named guard of the stepping machine (fillFlushNeeded,
 * unmapFlushNeeded, unpinFlushNeeded) whose default answers what the policy wants (`wants`); a
 * variant substitutes the guard. Each decision is observed (`flush-decision`).
 */
import type { Area, Domain, Hook, Pages, Policy, UnpinPath } from '../types.ts';
import { pagesMutex } from '../types.ts';
import type { IommufdState } from './iommufd.ts';

/** Where a batch pfn came from (pfn_reader_fill_span): the xarray, an area's storage domain, or GUP. */
export type Src = 'xa' | 'gup' | `dom:${string}`;

export interface FillItem {
  idx: number;
  pfn: number;
  src: Src;
}

function decide(st: IommufdState, guardName: string, hook: Hook, p: Pages, idx: number, pfn: number, wants: boolean, reason: string, facts: Record<string, unknown>, observe: boolean, extra: Record<string, unknown> = {}): boolean {
  const yes = st.e.g(guardName, { wants, reason, policy: st.cfg.policy, pages: p.id, idx, pfn, ...facts });
  if (observe || yes) st.obs('flush-decision', { hook, pfn, pages: p.id, idx, decision: yes ? 'flush' : 'skip', reason: yes === wants ? reason : `variant guard ${guardName} overrides the policy (${reason})`, ...extra });
  return yes;
}

export function flushPfns(st: IommufdState, pfns: number[], hook: Hook): void {
  for (const pfn of pfns) {
    if (st.cache.has(pfn)) st.cache.flush(pfn, { hook, by: st.e.actor });
    else st.warn('arch_clean_nonsnoop_dma', `flush of pfn ${pfn}, a page frame the model does not have`);
  }
}

/**
 * seed: cache_flush_required = iopt->noncoherent_domain_cnt && !pages->cache_flush_required; if
 * so the flag is set (pages->mutex). Evaluated once per fill call.
 */
export function seedCfr(st: IommufdState, area: Area, p: Pages): boolean {
  if (st.cfg.policy !== 'seed') return false;
  st.need(pagesMutex(p.id), `${p.id}.cache_flush_required`);
  const cfr = st.iopt(area.ioas).ncCnt > 0 && !p.flag;
  if (cfr) {
    p.flag = true;
    // The flag stands for "these pages were flushed": a failed ioctl must not leave it behind
    // (fail-atomic). per-fill's sticky bit is the opposite promise ("flush at unpin") and a
    // failed fill may leave it set: over-flushing is safe.
    st.journal(`${p.id}.cache_flush_required`, 1);
  }
  return cfr;
}

/**
 * H-fill: the pfns of one batch about to be mapped into `targets`. Returns the pfns to flush
 * (flushed by the caller's flush step, before any batch_to_domain of this batch), and updates
 * the policy's state.
 */
export function fillFlushes(st: IommufdState, area: Area, p: Pages, items: FillItem[], targets: Domain[], seedFlag: boolean): number[] {
  st.need(pagesMutex(p.id), `${p.id} flush state`);
  const policy = st.cfg.policy;
  const anyNc = targets.some((d) => d.nc);
  const cnt = st.iopt(area.ioas).ncCnt;
  const out: number[] = [];
  for (const it of items) {
    const srcArea = it.src.startsWith('dom:') ? st.s.areas[it.src.slice(4)] : undefined;
    const srcStorageNc = Boolean(srcArea?.storageNc);
    let wants = false;
    let reason = '';
    switch (policy) {
      case 'none':
        reason = 'upstream: no flush';
        break;
      case 'seed':
        wants = seedFlag;
        reason = seedFlag ? 'cnt>0 and P.flag was clear at fill start' : cnt === 0 ? 'noncoherent_domain_cnt == 0 at fill start' : `${p.id}.cache_flush_required already set`;
        break;
      case 'per-fill':
        wants = anyNc;
        reason = anyNc ? 'a target domain is non-coherent' : 'all targets coherent';
        break;
      case 'sticky-lazy':
        wants = p.sticky || anyNc;
        reason = anyNc ? 'a target domain is non-coherent' : p.sticky ? `${p.id} is sticky` : 'all targets coherent, not sticky';
        break;
      case 'storage-hint':
        if (anyNc && srcStorageNc) reason = `read back from ${srcArea!.id}'s non-coherent storage domain ${srcArea!.storage}`;
        else {
          wants = anyNc;
          reason = anyNc ? `source ${it.src} not a non-coherent storage domain` : 'all targets coherent';
        }
        break;
      case 'per-span': {
        const n = p.ncMaps[it.idx] ?? 0;
        wants = anyNc && n === 0;
        reason = !anyNc ? 'all targets coherent' : n === 0 ? 'index not mapped non-coherently' : `index already in ${n} non-coherent IOPTE(s)`;
        break;
      }
    }
    const facts = { cnt, flag: p.flag, sticky: p.sticky, anyNc, src: it.src, srcStorageNc, ncMaps: p.ncMaps[it.idx] ?? 0, seedCfr: seedFlag, ioas: area.ioas };
    if (decide(st, 'fillFlushNeeded', 'fill', p, it.idx, it.pfn, wants, reason, facts, anyNc || wants, { nc: anyNc })) out.push(it.pfn);
  }
  if ((policy === 'per-fill' || policy === 'sticky-lazy') && anyNc) p.sticky = true;
  return out;
}

/** per-span bookkeeping: one more non-coherent IOPTE of (P, idx) (under pages->mutex). */
export function onNcMap(st: IommufdState, p: Pages, idx: number, d: Domain): void {
  if (st.cfg.policy !== 'per-span' || !d.nc) return;
  st.need(pagesMutex(p.id), `${p.id}.ncMaps`);
  p.ncMaps[idx] = (p.ncMaps[idx] ?? 0) + 1;
  p.ncDirty[idx] = true;
}

export interface UnmapPlan {
  /** Page frames to flush once the unmap is done. */
  flush: number[];
}

/**
 * H-unmap / H-storage, before the unmap of indexes [from, to] of `area` from `d` (under
 * pages->mutex): per-span counts go down; the pfns a policy wants to flush after the unmap are
 * read back from the domain (`known`: the path already has them in its batch, no readback).
 */
export function planUnmap(st: IommufdState, area: Area, p: Pages, d: Domain, from: number, to: number, hook: 'unmap' | 'storage', known: boolean): UnmapPlan {
  st.need(pagesMutex(p.id), `${p.id} flush state`);
  const policy = st.cfg.policy;
  const plan: UnmapPlan = { flush: [] };
  if (from > to) return plan;
  for (let idx = from; idx <= to; idx++) {
    const iova = area.iova + (idx - area.start);
    const pfn = d.ptes[iova]?.pfn;
    if (pfn === undefined) continue;
    let wants = false;
    let reason = '';
    switch (policy) {
      case 'none':
      case 'seed':
      case 'per-fill':
        reason = 'flushed lazily at unpin';
        break;
      case 'sticky-lazy':
        wants = p.sticky;
        reason = p.sticky ? `${p.id} is sticky` : 'not sticky';
        break;
      case 'storage-hint': {
        // H-storage reads the area's hint while d is its storage domain; otherwise (an unwind, the
        // last domain's unfill after storage_domain was cleared) d's own coherency (6.17: hwpt).
        const hinted = hook === 'storage' && area.storage === d.id;
        wants = hinted ? area.storageNc : d.nc;
        reason = hinted ? (area.storageNc ? `storage hint: ${d.id} non-coherent` : 'storage hint: coherent') : d.nc ? `unmapped from non-coherent ${d.id}` : `${d.id} coherent`;
        break;
      }
      case 'per-span': {
        if (!d.nc) {
          reason = `${d.id} coherent`;
          break;
        }
        const n = (p.ncMaps[idx] ?? 0) - 1;
        if (n < 0) st.warn('per-span', `${p.id}[${idx}] non-coherent count below zero`);
        p.ncMaps[idx] = Math.max(0, n);
        if (p.ncMaps[idx] === 0) delete p.ncMaps[idx];
        wants = n <= 0;
        reason = n <= 0 ? 'last non-coherent IOPTE of the index' : `${n} non-coherent IOPTE(s) left`;
        break;
      }
    }
    const facts = { domNc: d.nc, sticky: p.sticky, storageNc: area.storageNc, ncMaps: p.ncMaps[idx] ?? 0, ioas: area.ioas };
    if (decide(st, 'unmapFlushNeeded', hook, p, idx, pfn, wants, reason, facts, d.nc || wants, { dom: d.id, nc: d.nc })) {
      plan.flush.push(pfn);
      if (!known) st.s.readbacks++;
      // per-span: the flush after this unmap is committed (done by this thread once the IOPTEs are gone).
      if (policy === 'per-span') delete p.ncDirty[idx];
    }
  }
  return plan;
}

/** After the unmap: flush what the plan says (no lock needed: the thread holds the pfns pinned). */
export function finishUnmap(st: IommufdState, plan: UnmapPlan, hook: 'unmap' | 'storage'): void {
  flushPfns(st, plan.flush, hook);
}

/** H-unpin: flush `pfn` before P unpins index idx? (`ioas`: the IOAS of the unpinning path). */
export function unpinFlush(st: IommufdState, p: Pages, idx: number, pfn: number, path: UnpinPath, ioas: number): boolean {
  const policy: Policy = st.cfg.policy;
  let wants = false;
  let reason = '';
  switch (policy) {
    case 'none':
      reason = 'upstream: no flush';
      break;
    case 'seed':
      wants = p.flag;
      reason = p.flag ? `${p.id}.cache_flush_required` : 'flag clear';
      break;
    case 'per-fill':
      wants = p.sticky;
      reason = p.sticky ? `${p.id} sticky` : 'never non-coherent';
      break;
    case 'sticky-lazy':
      wants = p.sticky && path !== 'storage';
      reason = !p.sticky ? 'not sticky' : path === 'storage' ? 'flushed after the storage unmap' : `${p.id} sticky`;
      break;
    case 'storage-hint':
      reason = 'flushed after the non-coherent unmap';
      break;
    case 'per-span':
      wants = Boolean(p.ncDirty[idx]);
      reason = wants ? 'index not flushed since its non-coherent map' : 'flushed after the last non-coherent unmap';
      break;
  }
  const facts = { path, cnt: st.iopt(ioas).ncCnt, flag: p.flag, sticky: p.sticky, ncDirty: Boolean(p.ncDirty[idx]), ioas };
  const yes = decide(st, 'unpinFlushNeeded', 'unpin', p, idx, pfn, wants, reason, facts, true, { last: st.pinCount(pfn) === 1 });
  if (yes) flushPfns(st, [pfn], 'unpin');
  return yes;
}

/** Which remaining domain becomes the storage domain (xa_load(domains, 0); storage-hint may prefer nc). */
export function pickStorage(st: IommufdState, domains: string[]): string | null {
  if (!domains.length) return null;
  if (st.cfg.policy === 'storage-hint' && st.cfg.preferNcStorage) {
    const nc = domains.find((d) => st.domain(d).nc);
    if (nc) return nc;
  }
  return domains[0];
}
