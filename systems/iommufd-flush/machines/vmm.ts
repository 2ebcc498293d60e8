/**
 * A VMM thread issuing iommufd ioctls: each ioctl is a kernel path run as steps over the shared
 * io_pagetable, with the kernel's locks held across steps where the kernel holds them across a
 * scheduling point. Paths (6.17-rc io_pagetable.c / pages.c / hw_pagetable.c / main.c; older trees
 * where a variant needs them):
 *   map     iopt_map_user_pages -> iopt_map_pages: alloc pages, alloc+insert areas (pages NULL:
 *           busy), domains_rwsem R, iopt_area_fill_domains per area (pages->mutex, batch by
 *           batch: H-fill flush, batch_to_domain per domain), area->pages set under iova_rwsem W.
 *   copy    iopt_get_pages (iova_rwsem R, kref per area) then the map path sharing those pages.
 *   unmap   iopt_unmap_iova_range: domains R + iova W; an area with accesses: prevent_access, drop
 *           both, notify the access drivers, retry; else pages = NULL, iova U,
 *           iopt_area_unfill_domains (pages->mutex: unmap other domains, storage unfill with its
 *           unpins), iopt_abort_area, iopt_put_pages, iova W again.
 *   vfioUnmap iommufd_vfio_unmap_dma: iopt_cut_iova (iova W, iopt_area_split) then, separately, unmap.
 *   attach  iommufd_hwpt_paging_alloc under ioas->mutex: domain alloc (coherency fixed here),
 *           iopt_table_add_domain (domains W + iova W, iopt_fill_domain per area), list_add.
 *   detach  the device detaches; IOMMU_DESTROY of the HWPT; iommufd_hwpt_paging_destroy: list_del
 *           under ioas->mutex, iopt_table_remove_domain (domains W + iova W, swap-erase,
 *           iopt_unfill_domain: with domains left, repoint storage under pages->mutex and unmap
 *           OUTSIDE it; the last domain: unfill with unpins).
 *   destroy IOMMU_DESTROY (fixed: users==1 and erase under xa_lock, 99f98a7c0d69; the variant
 *           takes a users reference first).
 * The seed policy changes noncoherent_domain_cnt in critical sections of its own (v1), or inside
 * add/remove_domain with seedCntInside.
 */
import type { SendParams } from '../../../core/model/effects.ts';
import { defineKind } from '../../../core/model/kind.ts';
import { areaSplit, contigAreas } from '../state/ioPagetable.ts';
import { type Fill, type Unfill, type UnfillKeys, fillBegin, fillFinish, fillFlush, fillInit, fillMap, fillUnwind, unfillAll, unfillChunk, unfillDomainsAll, unfillInit, unfillUnpin, unmapDomainRange, unmapExec } from '../state/pages.ts';
import { type UnmapPlan, finishUnmap, pickStorage, planUnmap } from '../state/policy.ts';
import { SYSTEM, XA_LOCK, destroyRwsem, domainsLock, ioasMutex, iovaLock, pagesMutex } from '../types.ts';
import { type VmmOp, opName } from './ops.ts';
import { type Kit, L, type LockOp, type StepResult, type StepTable, type ThreadContext, buildThread, threadKind, userOp, userReady } from './stepper.ts';

export interface VmmContext extends ThreadContext {
  ops: VmmOp[];
  /** How many iopt_pages the run may allocate (their mutexes are the footprint of a lookup step). */
  maxPages: number;
  opIdx: number;
  /** Replies outstanding (UNMAP_DONE from access drivers, DETACHED from a device). */
  pending: number;
  /** The rc of each finished ioctl. */
  rcs: number[];
}

export interface VmmInput {
  id: string;
  ops: VmmOp[];
  maxPages: number;
}

interface Elm {
  p: string;
  start: number;
  n: number;
  iova: number;
}

/** The running path's stack. */
interface Locals {
  ioas: number;
  elms: Elm[];
  areas: string[];
  elmIdx: number;
  fill: Fill | null;
  failedDom: number;
  rc: number;
  start: number;
  last: number;
  unmapped: number;
  tries: number;
  area: string;
  p: string;
  length: number;
  others: string[];
  otherIdx: number;
  uf: Unfill | null;
  hwpt: string;
  areaIdx: number;
  plan: UnmapPlan | null;
  obj: string;
  holdsDomains: boolean;
}

type C = VmmContext;
const loc = (c: C) => c.l as unknown as Locals;
const op = (c: C) => c.ops[c.opIdx];
const keys = (k: Kit): UnfillKeys => ({ carryKeepsEnd: k.g('carryKeepsEnd'), lastFromStartIndex: k.g('unpinLastFromStartIndex') });

/** The ioctl returns rc. */
function end(c: C, k: Kit, rc: number, lock: LockOp[] = [], send: SendParams[] = []): StepResult<C> {
  k.st.ioctlEnd(c.opName, rc);
  return { to: 'idle', set: { opName: '', opIdx: c.opIdx + 1, l: {}, rcs: [...c.rcs, rc] }, lock, send };
}

/** The pages mutex of an area found in the shared state (null view: every pages mutex, for the footprint). */
function areaPagesLock(view: { shared<T>(n: string): T } | null, areaId: string | undefined, maxPages: number): { lock: string }[] {
  if (!view || !areaId) return [...Array(maxPages).keys()].map((i) => ({ lock: pagesMutex(`P${i}`) }));
  const st = view.shared<Kit['st']>('iommufd');
  const a = st.s.areas[areaId];
  return a ? [{ lock: pagesMutex(a.p) }] : [];
}

/**
 * The find-and-start part of iopt_unmap_iova_range()'s loop, with domains R and iova W held.
 */
function unmapFind(c: C, k: Kit, lock: LockOp[]): StepResult<C> {
  const l = loc(c);
  const st = k.st;
  const unlockBoth = () => {
    lock.push(L.unlock(iovaLock(l.ioas), 'iopt_unmap_iova_range'), L.unlock(domainsLock(l.ioas), 'iopt_unmap_iova_range'));
  };
  const area = st.areaIterFirst(l.ioas, l.start, l.last);
  if (!area) {
    unlockBoth();
    return end(c, k, l.unmapped ? 0 : -2, lock);
  }
  st.use(area.id, 'iopt_unmap_iova_range');
  if (!area.pages) {
    unlockBoth();
    return end(c, k, -16, lock);
  }
  if (area.iova < l.start || area.last > l.last) {
    unlockBoth();
    return end(c, k, -2, lock);
  }
  if (area.iova !== l.start) l.tries = 0;
  if (area.numAccesses) {
    l.start = area.iova;
    st.need(iovaLock(l.ioas), `${area.id}.prevent_access`);
    area.preventAccess = true;
    l.area = area.id;
    // 804ca14d04df: the length is taken while the locks still protect the area.
    if (k.g('lengthBeforeUnlock')) l.length = area.last - area.iova + 1;
    unlockBoth();
    return { to: 'unmap.notify', lock };
  }
  st.need(iovaLock(l.ioas), `${area.id}.pages`);
  l.p = area.pages;
  area.pages = null;
  l.area = area.id;
  lock.push(L.unlock(iovaLock(l.ioas), 'iopt_unmap_iova_range'));
  return { to: 'unmap.unfillLock', lock };
}

function startUnmap(ioas: number, iova: number, len: number): Partial<Locals> {
  return { ioas, start: iova, last: iova + len - 1, unmapped: 0, tries: 0 };
}

/** After the destroy erased the object: what its destroy function does. */
function afterErase(c: C, k: Kit, lock: LockOp[]): StepResult<C> {
  const l = loc(c);
  const o = k.st.s.objects[l.obj];
  if (o?.type === 'access') return { to: 'destroy.accessOps', lock };
  return { to: 'detach.listDel', lock };
}

const steps: StepTable<C> = {
  idle: {
    description: 'between ioctls: take the next op of the script (a userspace store, signal or wait runs here)',
    ready: (c, view) => c.opIdx < c.ops.length && userReady(c.ops[c.opIdx], view),
    to: ['idle', 'map.allocPages', 'copy.getPages', 'unmap.lock', 'vfio.cut', 'setType1.run', 'attach.alloc', 'detach.devDetach', 'destroy.remove', 'destroy.getObject'],
    run(c, k) {
      const o = op(c);
      if (o.op === 'touch' || o.op === 'signal' || o.op === 'wait') return { to: 'idle', set: { opIdx: c.opIdx + 1, ...userOp(c.id, o, k) } };
      const name = opName(o);
      k.st.ioctlBegin(name);
      const set = { opName: name, opStart: k.cache.now() };
      switch (o.op) {
        case 'map':
          return { to: 'map.allocPages', set: { ...set, l: { ioas: o.ioas } } };
        case 'copy':
          return { to: 'copy.getPages', set: { ...set, l: { ioas: o.dst.ioas } } };
        case 'unmap':
          return { to: 'unmap.lock', set: { ...set, l: startUnmap(o.ioas, o.iova, o.len) } };
        case 'vfioUnmap':
          // READ_ONCE(iopt.disable_large_pages): cut only in type1 mode.
          return { to: k.st.iopt(o.ioas).disableLargePages ? 'vfio.cut' : 'unmap.lock', set: { ...set, l: startUnmap(o.ioas, o.iova, o.len) } };
        case 'setType1':
          return { to: 'setType1.run', set: { ...set, l: { ioas: o.ioas } } };
        case 'attach':
          return { to: 'attach.alloc', set: { ...set, l: { ioas: o.ioas, hwpt: o.hwpt } } };
        case 'detach':
          return { to: 'detach.devDetach', set: { ...set, l: { hwpt: o.hwpt, obj: o.hwpt } } };
        case 'destroy': {
          const obj = k.st.s.objects[o.obj];
          // Destroying a HWPT is its detach (the device goes first).
          if (obj?.type === 'hwpt') return { to: 'detach.devDetach', set: { ...set, l: { hwpt: o.obj, obj: o.obj } } };
          return { to: k.g('destroyTakesRef') ? 'destroy.getObject' : 'destroy.remove', set: { ...set, l: { obj: o.obj, ioas: obj?.ioas ?? 0 } } };
        }
      }
    },
  },

  // ---- IOAS_MAP / IOAS_COPY --------------------------------------------------------------------
  'map.allocPages': {
    description: 'iopt_alloc_user_pages(): kzalloc iopt_pages (kref 1, held by the map)',
    uses: 'state',
    to: ['map.insertArea', 'idle'],
    run(c, k) {
      const o = op(c) as Extract<VmmOp, { op: 'map' }>;
      if (o.len < 1 || o.uptr < 0 || o.uptr + o.len > k.st.s.userPfn.length) return end(c, k, -14);
      if (k.st.fault('kzalloc:iopt_pages')) return end(c, k, -12);
      const p = k.st.newPages(o.uptr, o.len);
      return { to: 'map.insertArea', set: { l: { ...c.l, elms: [{ p: p.id, start: 0, n: o.len, iova: o.iova }] } } };
    },
  },
  'copy.getPages': {
    description: 'iopt_get_pages() under the source iova_rwsem R: a kref on the pages of each contiguous area',
    uses: 'state',
    takes: (c) => [{ lock: iovaLock((op(c) as Extract<VmmOp, { op: 'copy' }>).src.ioas), mode: 'read' }],
    to: ['map.insertArea', 'idle'],
    run(c, k) {
      const o = op(c) as Extract<VmmOp, { op: 'copy' }>;
      const lk = iovaLock(o.src.ioas);
      const lock: LockOp[] = [L.lock(lk, 'iopt_get_pages', 'read')];
      const last = o.src.iova + o.src.len - 1;
      const { parts, done } = contigAreas(k.st, o.src.ioas, o.src.iova, last);
      const elms: Elm[] = [];
      const fail = (rc: number) => {
        for (const e of elms) k.st.putPages(k.st.pages(e.p));
        lock.push(L.unlock(lk, 'iopt_get_pages'));
        return end(c, k, rc, lock);
      };
      for (const part of parts) {
        if (k.st.fault('kzalloc:pages_list')) return fail(-12);
        const a = k.st.area(part.area);
        k.st.use(a.id, 'iopt_get_pages');
        k.st.getPages(k.st.pages(a.pages!));
        elms.push({ p: a.pages!, start: a.start + (part.from - a.iova), n: part.to - part.from + 1, iova: o.dst.iova + (part.from - o.src.iova) });
      }
      if (!done) return fail(-2);
      lock.push(L.unlock(lk, 'iopt_get_pages'));
      return { to: 'map.insertArea', set: { l: { ...c.l, elms } }, lock };
    },
  },
  'map.insertArea': {
    description: 'iopt_alloc_area_pages(): kzalloc the areas, then under iova_rwsem W check the IOVA and insert them with pages NULL (busy)',
    uses: 'state',
    takes: (c) => [{ lock: iovaLock(loc(c).ioas) }],
    to: ['map.lockDomains', 'idle'],
    run(c, k) {
      const l = loc(c);
      const st = k.st;
      const areas: string[] = [];
      const fail = (rc: number, lock: LockOp[] = []) => {
        for (const id of areas) {
          const a = st.area(id);
          if (st.iopt(l.ioas).areas.includes(id)) st.removeArea(a);
          st.freeArea(a, 'iopt_free_pages_list');
        }
        for (const e of l.elms) st.putPages(st.pages(e.p));
        return end(c, k, rc, lock);
      };
      for (const e of l.elms) {
        if (st.fault('kzalloc:area')) return fail(-12);
        areas.push(st.newArea(l.ioas, e.p, e.iova, e.start, e.n).id);
      }
      const lk = iovaLock(l.ioas);
      const lock: LockOp[] = [L.lock(lk, 'iopt_alloc_area_pages')];
      const taken: [number, number][] = [];
      for (const e of l.elms) {
        const last = e.iova + e.n - 1;
        if (e.iova < 0 || st.areaIterFirst(l.ioas, e.iova, last) || taken.some(([a, b]) => a <= last && e.iova <= b)) {
          lock.push(L.unlock(lk, 'iopt_alloc_area_pages'));
          return fail(-17, lock);
        }
        taken.push([e.iova, last]);
      }
      for (const id of areas) st.insertArea(st.area(id));
      lock.push(L.unlock(lk, 'iopt_alloc_area_pages'));
      return { to: 'map.lockDomains', set: { l: { ...c.l, areas } }, lock };
    },
  },
  'map.lockDomains': {
    description: 'down_read(domains_rwsem): with no domain attached nothing is pinned (F1)',
    uses: 'state',
    takes: (c) => [{ lock: domainsLock(loc(c).ioas), mode: 'read' }],
    to: ['map.setPages', 'map.fillBegin'],
    run(c, k) {
      const l = loc(c);
      const lock = [L.lock(domainsLock(l.ioas), 'iopt_map_pages', 'read')];
      const domains = k.st.iopt(l.ioas).domains;
      if (!domains.length) return { to: 'map.setPages', lock, set: { l: { ...c.l, holdsDomains: true } } };
      const fill = fillInit('domains', k.st.area(l.areas[0]), [...domains]);
      return { to: 'map.fillBegin', lock, set: { l: { ...c.l, holdsDomains: true, elmIdx: 0, fill } } };
    },
  },
  'map.fillBegin': {
    description: 'iopt_area_fill_domains(): pages->mutex, pfn_reader_first (batch alloc, xarray / storage domain / GUP)',
    takes: (c) => [{ lock: pagesMutex(loc(c).fill!.p) }],
    to: ['map.flush', 'map.undoElms', 'map.abort'],
    run(c, k) {
      const l = loc(c);
      const mx = pagesMutex(l.fill!.p);
      const lock = [L.lock(mx, 'iopt_area_fill_domains')];
      const rc = fillBegin(k.st, l.fill!);
      if (rc) {
        lock.push(L.unlock(mx, 'iopt_area_fill_domains'));
        l.rc = rc;
        return { to: l.elmIdx > 0 ? 'map.undoElms' : 'map.abort', lock };
      }
      return { to: 'map.flush', lock };
    },
  },
  'map.flush': {
    description: 'H-fill: the policy flushes the batch before it is mapped',
    to: ['map.mapDomain'],
    run(c, k) {
      fillFlush(k.st, loc(c).fill!);
      return { to: 'map.mapDomain' };
    },
  },
  'map.mapDomain': {
    description: 'batch_to_domain() into domains[i] (iommu_map); after the last domain pfn_reader_next()',
    to: ['map.mapDomain', 'map.flush', 'map.finishFill', 'map.unwind'],
    run(c, k) {
      const l = loc(c);
      const r = fillMap(k.st, l.fill!);
      if (r.rc) {
        l.rc = r.rc;
        l.failedDom = r.failedDom;
        return { to: 'map.unwind' };
      }
      return { to: r.next === 'domain' ? 'map.mapDomain' : r.next === 'batch' ? 'map.flush' : 'map.finishFill' };
    },
  },
  'map.finishFill': {
    description: 'pfn_reader_update_pinned (locked_vm), storage_domain = domains[0], domains_itree insert, pages->mutex U',
    to: ['map.fillBegin', 'map.setPages', 'map.unwind'],
    run(c, k) {
      const l = loc(c);
      const st = k.st;
      const rc = fillFinish(st, l.fill!, { storage: (ds) => pickStorage(st, ds) });
      if (rc) {
        l.rc = rc;
        l.failedDom = l.fill!.targets.length;
        return { to: 'map.unwind' };
      }
      const lock = [L.unlock(pagesMutex(l.fill!.p), 'iopt_area_fill_domains')];
      const next = l.elmIdx + 1;
      if (next < l.areas.length) {
        l.elmIdx = next;
        l.fill = fillInit('domains', st.area(l.areas[next]), [...st.iopt(l.ioas).domains]);
        return { to: 'map.fillBegin', lock };
      }
      l.fill = null;
      return { to: 'map.setPages', lock };
    },
  },
  'map.unwind': {
    description: 'iopt_area_fill_domains() out_unmap: release the reader pins, unmap the domains (the last one unfilled with unpins)',
    to: ['map.undoElms', 'map.abort'],
    run(c, k) {
      const l = loc(c);
      const f = l.fill!;
      fillUnwind(k.st, f, l.failedDom, !k.g('releasePinsAfterUnmap'), keys(k));
      l.fill = null;
      return { to: l.elmIdx > 0 ? 'map.undoElms' : 'map.abort', lock: [L.unlock(pagesMutex(f.p), 'iopt_area_fill_domains')] };
    },
  },
  'map.undoElms': {
    description: 'iopt_fill_domains_pages() err_unfill: iopt_area_unfill_domains() of the areas filled before the failure',
    takes: (c) => [...new Set(loc(c).elms.slice(0, loc(c).elmIdx).map((e) => e.p))].map((p) => ({ lock: pagesMutex(p) })),
    to: ['map.abort'],
    run(c, k) {
      const l = loc(c);
      const lock: LockOp[] = [];
      for (let i = 0; i < l.elmIdx; i++) {
        const a = k.st.area(l.areas[i]);
        lock.push(L.lock(pagesMutex(a.p), 'iopt_area_unfill_domains'));
        unfillDomainsAll(k.st, a, k.st.pages(a.p), keys(k));
        lock.push(L.unlock(pagesMutex(a.p), 'iopt_area_unfill_domains'));
        k.st.itreeCheck(a.p);
      }
      return { to: 'map.abort', lock };
    },
  },
  'map.setPages': {
    description: 'area->pages = pages under iova_rwsem W (inside domains_rwsem R so a new domain fills it), then up_read',
    uses: 'state',
    takes: (c) => [{ lock: iovaLock(loc(c).ioas) }],
    to: ['idle'],
    run(c, k) {
      const l = loc(c);
      const lk = iovaLock(l.ioas);
      const lock = [L.lock(lk, 'iopt_map_pages')];
      l.areas.forEach((id, i) => {
        k.st.need(lk, `${id}.pages`);
        k.st.area(id).pages = l.elms[i].p;
      });
      lock.push(L.unlock(lk, 'iopt_map_pages'), L.unlock(domainsLock(l.ioas), 'iopt_map_pages'));
      return end(c, k, 0, lock);
    },
  },
  'map.abort': {
    description: 'up_read(domains_rwsem); iopt_free_pages_list(): iopt_abort_area (iova_rwsem W) and iopt_put_pages',
    uses: 'state',
    takes: (c) => [{ lock: iovaLock(loc(c).ioas) }],
    to: ['idle'],
    run(c, k) {
      const l = loc(c);
      const lk = iovaLock(l.ioas);
      const lock: LockOp[] = [];
      if (l.holdsDomains) lock.push(L.unlock(domainsLock(l.ioas), 'iopt_map_pages'));
      lock.push(L.lock(lk, 'iopt_abort_area'));
      for (const id of l.areas) {
        const a = k.st.area(id);
        k.st.removeArea(a);
        k.st.freeArea(a, 'iopt_abort_area');
      }
      lock.push(L.unlock(lk, 'iopt_abort_area'));
      for (const e of l.elms) k.st.putPages(k.st.pages(e.p));
      return end(c, k, l.rc, lock);
    },
  },

  // ---- IOAS_UNMAP -------------------------------------------------------------------------------
  'vfio.cut': {
    description: 'iopt_cut_iova(): under iova_rwsem W split the areas at the ends of the range (iopt_area_split, pages->mutex)',
    uses: 'state',
    takes: (c, view) => {
      const l = loc(c);
      const out: { lock: string; mode?: 'read' | 'write' }[] = [{ lock: iovaLock(l.ioas) }];
      if (!view) return [...out, ...areaPagesLock(null, undefined, c.maxPages)];
      const st = view.shared<Kit['st']>('iommufd');
      for (const cut of [l.last, l.start - 1]) {
        const a = cut >= 0 ? st.areaIterFirst(l.ioas, cut, cut) : null;
        if (a?.pages && !out.some((x) => x.lock === pagesMutex(a.pages!))) out.push({ lock: pagesMutex(a.pages) });
      }
      return out;
    },
    to: ['unmap.lock', 'idle'],
    run(c, k) {
      const l = loc(c);
      const lk = iovaLock(l.ioas);
      const lock: LockOp[] = [L.lock(lk, 'iopt_cut_iova')];
      const cuts = l.start ? [l.last, l.start - 1] : [l.last];
      let rc = 0;
      for (const cut of cuts) {
        const a = k.st.areaIterFirst(l.ioas, cut, cut);
        if (!a) continue;
        k.st.use(a.id, 'iopt_area_split');
        rc = areaSplit(k.st, a, cut, k.g('splitUpdatesItree'), lock);
        if (rc) break;
      }
      lock.push(L.unlock(lk, 'iopt_cut_iova'));
      if (rc) return end(c, k, rc, lock);
      return { to: 'unmap.lock', lock };
    },
  },
  'unmap.lock': {
    description: 'iopt_unmap_iova_range(): down_read(domains_rwsem), down_write(iova_rwsem), find the next area',
    uses: 'state',
    takes: (c) => [{ lock: domainsLock(loc(c).ioas), mode: 'read' }, { lock: iovaLock(loc(c).ioas) }],
    to: ['idle', 'unmap.notify', 'unmap.unfillLock'],
    run(c, k) {
      const l = loc(c);
      return unmapFind(c, k, [L.lock(domainsLock(l.ioas), 'iopt_unmap_iova_range', 'read'), L.lock(iovaLock(l.ioas), 'iopt_unmap_iova_range')]);
    },
  },
  'unmap.relock': {
    description: 'down_write(iova_rwsem) again after an area is gone; find the next one',
    uses: 'state',
    takes: (c) => [{ lock: iovaLock(loc(c).ioas) }],
    to: ['idle', 'unmap.notify', 'unmap.unfillLock'],
    run(c, k) {
      return unmapFind(c, k, [L.lock(iovaLock(loc(c).ioas), 'iopt_unmap_iova_range')]);
    },
  },
  'unmap.notify': {
    description: 'iommufd_access_notify_unmap(): every access driver of the IOAS unpins what overlaps (locks dropped)',
    uses: 'state',
    to: ['unmap.afterNotify'],
    run(c, k) {
      const l = loc(c);
      const st = k.st;
      if (!k.g('lengthBeforeUnlock')) {
        // v6.2: iopt_area_length(area) read here, with the locks protecting the area let go.
        st.use(l.area, 'iommufd_access_notify_unmap (area length after unlock)');
        const a = st.area(l.area);
        l.length = a.last - a.iova + 1;
      }
      const send: SendParams[] = [];
      for (const acc of st.iopt(l.ioas).accessList) send.push({ to: acc, type: 'NOTIFY_UNMAP', payload: { iova: l.start, len: l.length, from: c.id } });
      return { to: 'unmap.afterNotify', set: { pending: send.length }, send };
    },
  },
  'unmap.afterNotify': {
    description: 'the callbacks returned: retry (fixed: tries > 100 -> -EDEADLOCK; v6.2: WARN_ON(area->num_accesses) read after unlock)',
    uses: 'state',
    ready: (c) => c.pending === 0,
    to: ['unmap.lock', 'idle'],
    run(c, k) {
      const l = loc(c);
      if (!k.g('lengthBeforeUnlock')) {
        k.st.use(l.area, 'iopt_unmap_iova_range (READ_ONCE(area->num_accesses) after unlock)');
        if (k.st.area(l.area).numAccesses) {
          k.st.warn('iopt_unmap_iova_range', `${l.area} still has accesses after the notify`);
          return end(c, k, -35);
        }
        return { to: 'unmap.lock' };
      }
      l.tries++;
      if (l.tries > 100) {
        k.st.warn('iopt_unmap_iova_range', 'something is not responding to unmap requests');
        return end(c, k, -35);
      }
      return { to: 'unmap.lock' };
    },
  },
  'unmap.unfillLock': {
    description: 'iopt_area_unfill_domains(): pages->mutex; nothing to do if the area was never filled',
    uses: 'state',
    takes: (c) => [{ lock: pagesMutex(loc(c).p) }],
    to: ['unmap.abortArea', 'unmap.unmapOther', 'unmap.ufChunk'],
    run(c, k) {
      const l = loc(c);
      const st = k.st;
      const mx = pagesMutex(l.p);
      const lock = [L.lock(mx, 'iopt_area_unfill_domains')];
      const a = st.area(l.area);
      if (!a.storage) {
        lock.push(L.unlock(mx, 'iopt_area_unfill_domains'));
        return { to: 'unmap.abortArea', lock };
      }
      l.others = st.iopt(l.ioas).domains.filter((d) => d !== a.storage);
      l.otherIdx = 0;
      if (l.others.length) return { to: 'unmap.unmapOther', lock };
      const p = st.pages(l.p);
      st.itreeRemove(p, a);
      l.uf = unfillInit(st, a, p, st.domain(a.storage), a.lastIdx);
      return { to: 'unmap.ufChunk', lock };
    },
  },
  'unmap.unmapOther': {
    description: 'iommu_unmap of the area from a domain that is not the storage domain (H-unmap: read back, unmap, flush)',
    to: ['unmap.unmapOther', 'unmap.ufChunk'],
    run(c, k) {
      const l = loc(c);
      const st = k.st;
      const a = st.area(l.area);
      const p = st.pages(l.p);
      unmapDomainRange(st, a, p, st.domain(l.others[l.otherIdx]), a.start, a.lastIdx, 'unmap');
      l.otherIdx++;
      if (l.otherIdx < l.others.length) return { to: 'unmap.unmapOther' };
      st.itreeRemove(p, a);
      l.uf = unfillInit(st, a, p, st.domain(a.storage!), a.lastIdx);
      return { to: 'unmap.ufChunk' };
    },
  },
  'unmap.ufChunk': {
    description: 'iopt_area_unpin_domain(): read the batch back from the storage domain (and ahead to a cut point), unmap it',
    to: ['unmap.ufUnpin', 'unmap.abortArea'],
    run(c, k) {
      const l = loc(c);
      if (unfillChunk(k.st, l.uf!, keys(k)) === 'unpin') return { to: 'unmap.ufUnpin' };
      k.st.setStorage(k.st.area(l.area), null, 'iopt_area_unfill_domains');
      l.uf = null;
      return { to: 'unmap.abortArea', lock: [L.unlock(pagesMutex(l.p), 'iopt_area_unfill_domains')] };
    },
  },
  'unmap.ufUnpin': {
    description: 'H-storage flush, then batch_unpin() (H-unpin) of what no access holds, and the carry',
    to: ['unmap.ufChunk'],
    run(c, k) {
      unfillUnpin(k.st, loc(c).uf!, keys(k));
      return { to: 'unmap.ufChunk' };
    },
  },
  'unmap.abortArea': {
    description: 'iopt_abort_area() (iova_rwsem W: remove, kfree) and iopt_put_pages()',
    takes: (c) => [{ lock: iovaLock(loc(c).ioas) }],
    to: ['unmap.relock'],
    run(c, k) {
      const l = loc(c);
      const st = k.st;
      const lk = iovaLock(l.ioas);
      const a = st.area(l.area);
      const lock = [L.lock(lk, 'iopt_abort_area')];
      st.removeArea(a);
      st.freeArea(a, 'iopt_abort_area');
      lock.push(L.unlock(lk, 'iopt_abort_area'));
      st.putPages(st.pages(l.p));
      l.unmapped += a.last - a.iova + 1;
      return { to: 'unmap.relock', lock };
    },
  },

  // ---- VFIO_SET_IOMMU(TYPE1) --------------------------------------------------------------------
  'setType1.run': {
    description: 'iopt_disable_large_pages(): refused when domains and areas both exist',
    uses: 'state',
    takes: (c) => [{ lock: domainsLock(loc(c).ioas) }, { lock: iovaLock(loc(c).ioas) }],
    to: ['idle'],
    run(c, k) {
      const l = loc(c);
      const io = k.st.iopt(l.ioas);
      const lock = [L.lock(domainsLock(l.ioas), 'iopt_disable_large_pages'), L.lock(iovaLock(l.ioas), 'iopt_disable_large_pages')];
      let rc = 0;
      if (!io.disableLargePages) {
        if (io.domains.length && io.areas.length) rc = -22;
        else io.disableLargePages = true;
      }
      lock.push(L.unlock(iovaLock(l.ioas), 'iopt_disable_large_pages'), L.unlock(domainsLock(l.ioas), 'iopt_disable_large_pages'));
      return end(c, k, rc, lock);
    },
  },

  // ---- HWPT alloc + attach ----------------------------------------------------------------------
  'attach.alloc': {
    description: 'iommufd_hwpt_paging_alloc() under ioas->mutex: domain alloc; enforce_cache_coherency fixed here (6.17)',
    uses: 'state',
    takes: (c) => [{ lock: ioasMutex(loc(c).ioas) }],
    to: ['attach.seedCntInc', 'attach.lock', 'idle'],
    run(c, k) {
      const o = op(c) as Extract<VmmOp, { op: 'attach' }>;
      const st = k.st;
      const lock = [L.lock(ioasMutex(o.ioas), 'iommufd_hwpt_paging_alloc')];
      const unlockFail = (rc: number) => end(c, k, rc, [...lock, L.unlock(ioasMutex(o.ioas), 'iommufd_hwpt_paging_alloc')]);
      if (st.s.domains[o.hwpt] && !st.s.domains[o.hwpt].freed) return unlockFail(-17);
      if (st.fault('domain_alloc')) return unlockFail(-12);
      st.s.domains[o.hwpt] = { id: o.hwpt, ioas: o.ioas, nc: o.nc, dev: o.dev, ptes: {}, inIopt: false, freed: false };
      st.journal(`domobj:${o.hwpt}`, 1);
      st.obs('alloc', { obj: o.hwpt, owner: c.id, by: 'iommu_domain_alloc' });
      const seedSplit = st.cfg.policy === 'seed' && !st.cfg.seedCntInside && o.nc;
      return { to: seedSplit ? 'attach.seedCntInc' : 'attach.lock', lock };
    },
  },
  'attach.seedCntInc': {
    description: 'seed v1: noncoherent_domain_cnt++ in a domains_rwsem W section of its own, before add_domain',
    uses: 'state',
    takes: (c) => [{ lock: domainsLock(loc(c).ioas) }],
    to: ['attach.lock'],
    run(c, k) {
      const l = loc(c);
      k.st.need(domainsLock(l.ioas), 'noncoherent_domain_cnt');
      k.st.iopt(l.ioas).ncCnt++;
      return { to: 'attach.lock', lock: [L.lock(domainsLock(l.ioas), 'iommufd_hwpt_paging_alloc'), L.unlock(domainsLock(l.ioas), 'iommufd_hwpt_paging_alloc')] };
    },
  },
  'attach.lock': {
    description: 'iopt_table_add_domain(): domains_rwsem W, iova_rwsem W, reserve (xa_reserve can fail)',
    uses: 'state',
    takes: (c) => [{ lock: domainsLock(loc(c).ioas) }, { lock: iovaLock(loc(c).ioas) }],
    to: ['attach.fillBegin', 'attach.store', 'attach.fail'],
    run(c, k) {
      const l = loc(c);
      const st = k.st;
      const lock = [L.lock(domainsLock(l.ioas), 'iopt_table_add_domain'), L.lock(iovaLock(l.ioas), 'iopt_table_add_domain')];
      if (st.fault('xa_reserve')) {
        l.rc = -12;
        lock.push(L.unlock(iovaLock(l.ioas), 'iopt_table_add_domain'), L.unlock(domainsLock(l.ioas), 'iopt_table_add_domain'));
        return { to: 'attach.fail', lock };
      }
      if (st.cfg.policy === 'seed' && st.cfg.seedCntInside && st.domain(l.hwpt).nc) {
        st.need(domainsLock(l.ioas), 'noncoherent_domain_cnt');
        st.iopt(l.ioas).ncCnt++;
      }
      l.areas = st.areasInOrder(l.ioas).filter((a) => a.pages).map((a) => a.id);
      l.areaIdx = 0;
      if (!l.areas.length) return { to: 'attach.store', lock };
      l.fill = fillInit('domain', st.area(l.areas[0]), [l.hwpt]);
      return { to: 'attach.fillBegin', lock };
    },
  },
  'attach.fillBegin': {
    description: 'iopt_fill_domain(), per area in IOVA order: pages->mutex, iopt_area_fill_domain() reader first',
    takes: (c) => [{ lock: pagesMutex(loc(c).fill!.p) }],
    to: ['attach.flush', 'attach.outUnfill'],
    run(c, k) {
      const l = loc(c);
      const mx = pagesMutex(l.fill!.p);
      const lock = [L.lock(mx, 'iopt_fill_domain')];
      const rc = fillBegin(k.st, l.fill!);
      if (rc) {
        l.rc = rc;
        l.fill = null;
        lock.push(L.unlock(mx, 'iopt_fill_domain'));
        return { to: 'attach.outUnfill', lock };
      }
      return { to: 'attach.flush', lock };
    },
  },
  'attach.flush': {
    description: 'H-fill: the policy flushes the batch before it is mapped into the new domain',
    to: ['attach.mapDomain'],
    run(c, k) {
      fillFlush(k.st, loc(c).fill!);
      return { to: 'attach.mapDomain' };
    },
  },
  'attach.mapDomain': {
    description: 'batch_to_domain() into the new domain, then pfn_reader_next()',
    to: ['attach.flush', 'attach.fillDone', 'attach.unwind'],
    run(c, k) {
      const l = loc(c);
      const r = fillMap(k.st, l.fill!);
      if (r.rc) {
        l.rc = r.rc;
        return { to: 'attach.unwind' };
      }
      return { to: r.next === 'batch' ? 'attach.flush' : 'attach.fillDone' };
    },
  },
  'attach.fillDone': {
    description: 'update_pinned; the first domain becomes the storage domain (itree insert); pages->mutex U',
    to: ['attach.fillBegin', 'attach.store', 'attach.unwind'],
    run(c, k) {
      const l = loc(c);
      const st = k.st;
      const rc = fillFinish(st, l.fill!, { storage: (ds) => pickStorage(st, ds) });
      if (rc) {
        l.rc = rc;
        return { to: 'attach.unwind' };
      }
      const lock = [L.unlock(pagesMutex(l.fill!.p), 'iopt_fill_domain')];
      l.areaIdx++;
      if (l.areaIdx < l.areas.length) {
        l.fill = fillInit('domain', st.area(l.areas[l.areaIdx]), [l.hwpt]);
        return { to: 'attach.fillBegin', lock };
      }
      l.fill = null;
      return { to: 'attach.store', lock };
    },
  },
  'attach.unwind': {
    description: 'iopt_area_fill_domain() out_unmap: release the reader pins, unfill the partial domain',
    to: ['attach.outUnfill'],
    run(c, k) {
      const l = loc(c);
      const f = l.fill!;
      fillUnwind(k.st, f, 0, true, keys(k));
      l.fill = null;
      return { to: 'attach.outUnfill', lock: [L.unlock(pagesMutex(f.p), 'iopt_fill_domain')] };
    },
  },
  'attach.outUnfill': {
    description: 'iopt_fill_domain() out_unfill: unfill the areas before the failing one; iopt_table_add_domain unlocks',
    takes: (c, view) => {
      const l = loc(c);
      const before = (l.areas ?? []).slice(0, l.areaIdx ?? 0);
      if (!before.length) return [];
      if (!view) return areaPagesLock(null, undefined, c.maxPages);
      const st = view.shared<Kit['st']>('iommufd');
      return [...new Set(before.map((a) => st.area(a).p))].map((p) => ({ lock: pagesMutex(p) }));
    },
    to: ['attach.fail'],
    run(c, k) {
      const l = loc(c);
      const st = k.st;
      const lock: LockOp[] = [];
      const d = st.domain(l.hwpt);
      for (let i = 0; i < l.areaIdx; i++) {
        const a = st.area(l.areas[i]);
        const p = st.pages(a.p);
        lock.push(L.lock(pagesMutex(a.p), 'iopt_fill_domain'));
        const last = st.iopt(l.ioas).domains.length === 0;
        if (last) {
          st.itreeRemove(p, a);
          st.setStorage(a, null, 'iopt_fill_domain out_unfill');
        }
        unfillAll(st, a, p, d, a.lastIdx, keys(k), last ? 'storage' : 'unmap');
        lock.push(L.unlock(pagesMutex(a.p), 'iopt_fill_domain'));
        st.itreeCheck(a.p);
      }
      if (st.cfg.policy === 'seed' && st.cfg.seedCntInside && d.nc) st.iopt(l.ioas).ncCnt--;
      lock.push(L.unlock(iovaLock(l.ioas), 'iopt_table_add_domain'), L.unlock(domainsLock(l.ioas), 'iopt_table_add_domain'));
      return { to: 'attach.fail', lock };
    },
  },
  'attach.fail': {
    description: 'iommufd_hwpt_paging_alloc() error: (seed v1: cnt-- in its own domains_rwsem W section) free the domain, ioas->mutex U',
    uses: 'state',
    takes: (c, view) => {
      const l = loc(c);
      const st = view?.shared<Kit['st']>('iommufd');
      const seed = !st || (st.cfg.policy === 'seed' && !st.cfg.seedCntInside);
      return seed ? [{ lock: domainsLock(l.ioas) }] : [];
    },
    to: ['idle'],
    run(c, k) {
      const l = loc(c);
      const st = k.st;
      const d = st.domain(l.hwpt);
      const lock: LockOp[] = [];
      if (st.cfg.policy === 'seed' && !st.cfg.seedCntInside && d.nc) {
        lock.push(L.lock(domainsLock(l.ioas), 'iommufd_hwpt_paging_alloc'));
        st.need(domainsLock(l.ioas), 'noncoherent_domain_cnt');
        st.iopt(l.ioas).ncCnt--;
        lock.push(L.unlock(domainsLock(l.ioas), 'iommufd_hwpt_paging_alloc'));
      }
      d.freed = true;
      st.journal(`domobj:${d.id}`, -1);
      st.obs('free', { obj: d.id, by: 'iommu_domain_free' });
      lock.push(L.unlock(ioasMutex(l.ioas), 'iommufd_hwpt_paging_alloc'));
      return end(c, k, l.rc, lock);
    },
  },
  'attach.store': {
    description: 'xa_store the domain, next_domain_id++, iova/domains U; list_add to hwpt_list; ioas->mutex U; the device attaches',
    uses: 'state',
    to: ['idle'],
    run(c, k) {
      const l = loc(c);
      const st = k.st;
      const o = op(c) as Extract<VmmOp, { op: 'attach' }>;
      const d = st.domain(l.hwpt);
      st.domainsStore(l.ioas, [...st.iopt(l.ioas).domains, d.id]);
      d.inIopt = true;
      const lock = [L.unlock(iovaLock(l.ioas), 'iopt_table_add_domain'), L.unlock(domainsLock(l.ioas), 'iopt_table_add_domain')];
      st.need(ioasMutex(l.ioas), 'hwpt_list');
      st.iopt(l.ioas).hwptList.push(d.id);
      st.s.objects[d.id] = { id: d.id, type: 'hwpt', ioas: l.ioas, users: 1, erased: false, destroyed: false };
      st.journal(`obj:${d.id}`, 1);
      lock.push(L.unlock(ioasMutex(l.ioas), 'iommufd_hwpt_paging_alloc'));
      const send: SendParams[] = o.dev ? [{ to: o.dev, type: 'ATTACH', payload: { hwpt: d.id } }] : [];
      return end(c, k, 0, lock, send);
    },
  },

  // ---- detach + destroy -------------------------------------------------------------------------
  'detach.devDetach': {
    description: 'the device detaches from the HWPT (iommufd_device_detach): wait until it has',
    uses: 'state',
    to: ['destroy.remove', 'destroy.getObject', 'idle'],
    run(c, k) {
      const l = loc(c);
      const d = k.st.s.domains[l.hwpt];
      if (!d || d.freed || !k.st.s.objects[l.hwpt]) return end(c, k, -2);
      l.ioas = d.ioas;
      const send: SendParams[] = d.dev ? [{ to: d.dev, type: 'DETACH', payload: { hwpt: d.id, from: c.id } }] : [];
      return { to: k.g('destroyTakesRef') ? 'destroy.getObject' : 'destroy.remove', set: { pending: send.length }, send };
    },
  },
  'destroy.remove': {
    description: 'IOMMU_DESTROY (99f98a7c0d69): under xa_lock, erase only if users == 1, else -EBUSY; no reference taken',
    uses: 'state',
    takes: () => [{ lock: XA_LOCK }],
    ready: (c) => c.pending === 0,
    to: ['detach.listDel', 'destroy.accessOps', 'idle'],
    run(c, k) {
      const l = loc(c);
      const st = k.st;
      const lock: LockOp[] = [L.lock(XA_LOCK, 'iommufd_destroy')];
      const o = st.s.objects[l.obj];
      if (!o || o.erased) {
        lock.push(L.unlock(XA_LOCK, 'iommufd_destroy'));
        return end(c, k, -2, lock);
      }
      st.use(o.id, 'iommufd_destroy');
      if (o.users !== 1) {
        lock.push(L.unlock(XA_LOCK, 'iommufd_destroy'));
        return end(c, k, -16, lock);
      }
      o.users = 0;
      o.erased = true;
      st.journal(`obj:${o.id}`, -1);
      lock.push(L.unlock(XA_LOCK, 'iommufd_destroy'));
      return afterErase(c, k, lock);
    },
  },
  'destroy.getObject': {
    description: 'v6.2 IOMMU_DESTROY: iommufd_get_object (xa_lock, down_read_trylock(destroy_rwsem), users++)',
    uses: 'state',
    // destroy_rwsem is a trylock: it never blocks the step, but the footprint (null view) names it.
    takes: (c, view) => (view ? [{ lock: XA_LOCK }] : [{ lock: XA_LOCK }, { lock: destroyRwsem(loc(c).obj), mode: 'read' }]),
    ready: (c) => c.pending === 0,
    to: ['destroy.keepUser', 'idle'],
    run(c, k) {
      const l = loc(c);
      const st = k.st;
      const lock: LockOp[] = [L.lock(XA_LOCK, 'iommufd_get_object')];
      const o = st.s.objects[l.obj];
      const fail = () => end(c, k, -2, [...lock, L.unlock(XA_LOCK, 'iommufd_get_object')]);
      if (!o || o.erased) return fail();
      st.use(o.id, 'iommufd_get_object');
      if (!st.canTake(destroyRwsem(o.id), 'read') || o.users === 0) return fail();
      o.users++;
      lock.push(L.unlock(XA_LOCK, 'iommufd_get_object'));
      // The trylock happened under xa_lock; recorded after its release (the model's lockdep has no trylock).
      lock.push(L.lock(destroyRwsem(o.id), 'iommufd_get_object', 'read'));
      return { to: 'destroy.keepUser', lock };
    },
  },
  'destroy.keepUser': {
    description: 'iommufd_ref_to_users(): up_read(destroy_rwsem), the users reference kept',
    uses: 'state',
    to: ['destroy.destroyUser'],
    run(c) {
      return { to: 'destroy.destroyUser', lock: [L.unlock(destroyRwsem(loc(c).obj), 'iommufd_ref_to_users')] };
    },
  },
  'destroy.destroyUser': {
    description: 'iommufd_object_destroy_user(): down_write(destroy_rwsem), xa_lock, users--, refcount_dec_if_one or -EBUSY',
    uses: 'state',
    takes: (c) => [{ lock: destroyRwsem(loc(c).obj) }, { lock: XA_LOCK }],
    to: ['detach.listDel', 'destroy.accessOps', 'idle'],
    run(c, k) {
      const l = loc(c);
      const st = k.st;
      const rw = destroyRwsem(l.obj);
      const lock: LockOp[] = [L.lock(rw, 'iommufd_object_destroy_user'), L.lock(XA_LOCK, 'iommufd_object_destroy_user')];
      const o = st.s.objects[l.obj];
      st.use(o.id, 'iommufd_object_destroy_user');
      o.users--;
      const ok = o.users === 1 && !o.erased;
      if (ok) {
        o.users = 0;
        o.erased = true;
        st.journal(`obj:${o.id}`, -1);
      }
      lock.push(L.unlock(XA_LOCK, 'iommufd_object_destroy_user'), L.unlock(rw, 'iommufd_object_destroy_user'));
      if (!ok) return end(c, k, -16, lock);
      return afterErase(c, k, lock);
    },
  },
  'destroy.accessOps': {
    description: 'iommufd_access_destroy_object(): iopt_remove_access (domains W + iova W), kfree',
    uses: 'state',
    takes: (c) => [{ lock: domainsLock(loc(c).ioas) }, { lock: iovaLock(loc(c).ioas) }],
    to: ['idle'],
    run(c, k) {
      const l = loc(c);
      const st = k.st;
      const o = st.s.objects[l.obj];
      const io = st.iopt(l.ioas);
      const lock = [L.lock(domainsLock(l.ioas), 'iopt_remove_access'), L.lock(iovaLock(l.ioas), 'iopt_remove_access')];
      st.need(iovaLock(l.ioas), 'iopt->access_list');
      io.accessList = io.accessList.filter((a) => a !== o.id);
      lock.push(L.unlock(iovaLock(l.ioas), 'iopt_remove_access'), L.unlock(domainsLock(l.ioas), 'iopt_remove_access'));
      o.destroyed = true;
      st.obs('free', { obj: o.id, by: `${c.id}: iommufd_access_destroy_object` });
      return end(c, k, 0, lock);
    },
  },
  'detach.listDel': {
    description: 'iommufd_hwpt_paging_destroy(): list_del under ioas->mutex',
    uses: 'state',
    takes: (c) => [{ lock: ioasMutex(loc(c).ioas) }],
    to: ['detach.lock'],
    run(c, k) {
      const l = loc(c);
      const io = k.st.iopt(l.ioas);
      k.st.need(ioasMutex(l.ioas), 'hwpt_list');
      io.hwptList = io.hwptList.filter((h) => h !== l.hwpt);
      return { to: 'detach.lock', lock: [L.lock(ioasMutex(l.ioas), 'iommufd_hwpt_paging_destroy'), L.unlock(ioasMutex(l.ioas), 'iommufd_hwpt_paging_destroy')] };
    },
  },
  'detach.lock': {
    description: 'iopt_table_remove_domain(): domains W, iova W, swap-erase from iopt->domains',
    uses: 'state',
    takes: (c) => [{ lock: domainsLock(loc(c).ioas) }, { lock: iovaLock(loc(c).ioas) }],
    to: ['detach.repoint', 'detach.unfillLast', 'detach.unlock'],
    run(c, k) {
      const l = loc(c);
      const st = k.st;
      const lock = [L.lock(domainsLock(l.ioas), 'iopt_table_remove_domain'), L.lock(iovaLock(l.ioas), 'iopt_table_remove_domain')];
      const domains = [...st.iopt(l.ioas).domains];
      const i = domains.indexOf(l.hwpt);
      if (i < 0) {
        st.warn('iopt_table_remove_domain', `${l.hwpt} not in ioas${l.ioas}.domains`);
        return { to: 'detach.unlock', lock };
      }
      const tail = domains.pop()!;
      if (i !== domains.length) domains[i] = tail;
      st.domainsStore(l.ioas, domains);
      const d = st.domain(l.hwpt);
      d.inIopt = false;
      if (st.cfg.policy === 'seed' && st.cfg.seedCntInside && d.nc) st.iopt(l.ioas).ncCnt--;
      l.areas = st.areasInOrder(l.ioas).filter((a) => a.pages).map((a) => a.id);
      l.areaIdx = 0;
      if (!l.areas.length) return { to: 'detach.unlock', lock };
      return { to: domains.length ? 'detach.repoint' : 'detach.unfillLast', lock };
    },
  },
  'detach.repoint': {
    description: 'iopt_unfill_domain(), domains left: under pages->mutex point storage_domain at domains[0] (H-unmap: read back)',
    takes: (c, view) => areaPagesLock(view, loc(c).areas[loc(c).areaIdx], c.maxPages),
    to: ['detach.unmapArea'],
    run(c, k) {
      const l = loc(c);
      const st = k.st;
      const a = st.area(l.areas[l.areaIdx]);
      const p = st.pages(a.p);
      const d = st.domain(l.hwpt);
      const mx = pagesMutex(a.p);
      if (!a.storage) st.warn('iopt_unfill_domain', `${a.id} has no storage domain`);
      if (a.storage === d.id) {
        const s = pickStorage(st, st.iopt(l.ioas).domains);
        st.setStorage(a, s, 'iopt_unfill_domain');
        if (k.g('repointUpdatesHint')) a.storageNc = s ? st.domain(s).nc : false;
      }
      l.plan = planUnmap(st, a, p, d, a.start, a.lastIdx, 'unmap', false);
      return { to: 'detach.unmapArea', lock: [L.lock(mx, 'iopt_unfill_domain'), L.unlock(mx, 'iopt_unfill_domain')] };
    },
  },
  'detach.unmapArea': {
    description: 'iopt_area_unmap_domain() OUTSIDE pages->mutex (F11), then the H-unmap flush',
    to: ['detach.repoint', 'detach.unlock'],
    run(c, k) {
      const l = loc(c);
      const st = k.st;
      const a = st.area(l.areas[l.areaIdx]);
      unmapExec(st, a, st.domain(l.hwpt), a.start, a.lastIdx);
      if (l.plan) finishUnmap(st, l.plan, 'unmap');
      l.plan = null;
      l.areaIdx++;
      return { to: l.areaIdx < l.areas.length ? 'detach.repoint' : 'detach.unlock' };
    },
  },
  'detach.unfillLast': {
    description: 'iopt_unfill_domain(), the last domain: pages->mutex, itree remove, storage_domain = NULL, unfill with unpins',
    takes: (c, view) => areaPagesLock(view, loc(c).areas[loc(c).areaIdx], c.maxPages),
    to: ['detach.ufChunk'],
    run(c, k) {
      const l = loc(c);
      const st = k.st;
      const a = st.area(l.areas[l.areaIdx]);
      const p = st.pages(a.p);
      const mx = pagesMutex(a.p);
      const lock = [L.lock(mx, 'iopt_unfill_domain')];
      st.itreeRemove(p, a);
      if (a.storage !== l.hwpt) st.warn('iopt_unfill_domain', `${a.id}.storage_domain is ${a.storage}, not ${l.hwpt}`);
      st.setStorage(a, null, 'iopt_unfill_domain');
      l.uf = unfillInit(st, a, p, st.domain(l.hwpt), a.lastIdx);
      return { to: 'detach.ufChunk', lock };
    },
  },
  'detach.ufChunk': {
    description: 'iopt_area_unpin_domain(): read back (and ahead), unmap',
    to: ['detach.ufUnpin', 'detach.unfillLast', 'detach.unlock'],
    run(c, k) {
      const l = loc(c);
      if (unfillChunk(k.st, l.uf!, keys(k)) === 'unpin') return { to: 'detach.ufUnpin' };
      const lock = [L.unlock(pagesMutex(l.uf!.p), 'iopt_unfill_domain')];
      l.uf = null;
      l.areaIdx++;
      return { to: l.areaIdx < l.areas.length ? 'detach.unfillLast' : 'detach.unlock', lock };
    },
  },
  'detach.ufUnpin': {
    description: 'H-storage flush, batch_unpin() (H-unpin), carry',
    to: ['detach.ufChunk'],
    run(c, k) {
      unfillUnpin(k.st, loc(c).uf!, keys(k));
      return { to: 'detach.ufChunk' };
    },
  },
  'detach.unlock': {
    description: 'iopt_table_remove_domain(): remove reserved IOVA, iova_rwsem U, domains_rwsem U',
    uses: 'state',
    to: ['detach.free'],
    run(c) {
      const l = loc(c);
      return { to: 'detach.free', lock: [L.unlock(iovaLock(l.ioas), 'iopt_table_remove_domain'), L.unlock(domainsLock(l.ioas), 'iopt_table_remove_domain')] };
    },
  },
  'detach.free': {
    description: '(seed v1: cnt-- in its own domains_rwsem W section) iommu_domain_free, the HWPT object freed',
    uses: 'state',
    takes: (c, view) => {
      const st = view?.shared<Kit['st']>('iommufd');
      const seed = !st || (st.cfg.policy === 'seed' && !st.cfg.seedCntInside && st.s.domains[loc(c).hwpt]?.nc);
      return seed ? [{ lock: domainsLock(loc(c).ioas) }] : [];
    },
    to: ['idle'],
    run(c, k) {
      const l = loc(c);
      const st = k.st;
      const d = st.domain(l.hwpt);
      const lock: LockOp[] = [];
      if (st.cfg.policy === 'seed' && !st.cfg.seedCntInside && d.nc) {
        lock.push(L.lock(domainsLock(l.ioas), 'iommufd_hwpt_paging_destroy'));
        st.need(domainsLock(l.ioas), 'noncoherent_domain_cnt');
        st.iopt(l.ioas).ncCnt--;
        lock.push(L.unlock(domainsLock(l.ioas), 'iommufd_hwpt_paging_destroy'));
      }
      d.freed = true;
      st.journal(`domobj:${d.id}`, -1);
      st.obs('free', { obj: d.id, by: 'iommu_domain_free' });
      const o = st.s.objects[d.id];
      if (o) o.destroyed = true;
      return end(c, k, 0, lock);
    },
  },
};

export const vmmMachine = buildThread<C>({
  id: `${SYSTEM}.vmm`,
  steps,
  initial: 'idle',
  context: (input) => {
    const i = input as VmmInput;
    return { id: i.id, ops: i.ops, maxPages: i.maxPages, opIdx: 0, pending: 0, rcs: [], held: [], opName: '', opStart: 0, l: {} };
  },
  messages: {
    UNMAP_DONE: (c) => ({ set: { pending: c.pending - 1 } }),
    DETACHED: (c) => ({ set: { pending: c.pending - 1 } }),
  },
  groups: {
    map: 'IOMMU_IOAS_MAP / the map half of IOMMU_IOAS_COPY (iopt_map_pages)',
    copy: 'IOMMU_IOAS_COPY: iopt_get_pages on the source',
    unmap: 'IOMMU_IOAS_UNMAP: iopt_unmap_iova_range',
    vfio: 'vfio-compat VFIO_IOMMU_UNMAP_DMA: iopt_cut_iova before the unmap',
    setType1: 'vfio-compat VFIO_SET_IOMMU(TYPE1)',
    attach: 'IOMMU_HWPT_ALLOC + attach: iommufd_hwpt_paging_alloc / iopt_table_add_domain',
    detach: 'detach + IOMMU_DESTROY of the HWPT: iopt_table_remove_domain',
    destroy: 'IOMMU_DESTROY: iommufd_destroy',
  },
});

export const vmmKind = defineKind(
  threadKind<C>({
    kind: `${SYSTEM}.vmm`,
    machine: vmmMachine,
    steps,
  }) as Parameters<typeof defineKind>[0],
);
