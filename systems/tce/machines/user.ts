/**
 * tce.userN: a VMM thread (QEMU) issuing VFIO ioctls on one SPAPR TCE container
 * (drivers/vfio/vfio_iommu_spapr_tce.c, 6.17-rc, Kingxukai/linux 9b44fff655e2), plus the mm calls
 * of its own address space. Every path below cites the kernel function it models.
 *
 * The fixed model is the kernel today except where reading the code found it wrong; there the
 * fixed model has the corrected order and the 6.17 order is a variant (docs/tce.md):
 *  - `releaseAfterKill`: 6.17 unpins / mapped_dec's each old entry inside the loop and kills the
 *    TCE cache once after it (tce_iommu_clear, tce_iommu_build*): variant unpin-before-kill;
 *  - `unregisterPutLookupFirst`: 6.17 drops the tcemem reference first and ignores the -EBUSY
 *    of the second mm_iommu_put (tce_iommu_unregister_pages): variant unregister-ebusy-swallowed;
 *  - `rangeInWindow`: 6.17 checks only the first entry (iommu_tce_check_ioba ignores npages):
 *    variant window-range-unchecked;
 *  - `defaultWindowLocked`: 6.17 creates the default window from MAP/UNMAP without
 *    container->lock: variant default-window-race;
 *  - `xchgFailDecMapped`: 6.17 undoes a failed xchg's mapped_inc through the entry's stale mirror
 *    (tce_iommu_unuse_page_v2(entry + i)): variant v2-xchg-fail-mapped-leak;
 *  - `lookupUnderRcu`: 6.17 drops RCU inside mm_iommu_lookup() before mm_iommu_mapped_inc():
 *    variant v2-lookup-outside-rcu;
 *  - `tcememFirst`: 6.17 allocates the tcemem after mm_iommu_new() listed the region, and its
 *    failure path's mm_iommu_put() -EBUSY (a concurrent MAP mapped it) is ignored: variant
 *    register-tcemem-orphan.
 * Corrected without a variant (docs): a NULL mirror level is -ENOMEM (6.17 writes *pua through
 * NULL); a failed mapped_inc returns -ENXIO (6.17 returns 0).
 */
import { type Facets, KTABLE, LARGE_POOL, poolLock, poolLayout, type FacetName, type Tce, permOf } from '../state/index.ts';
import { DDW_OFFSET, type Op } from '../workload.ts';
import {
  CONTAINER_LOCK,
  EBUSY,
  EFAULT,
  EINVAL,
  ENODEV,
  ENOENT,
  ENOMEM,
  ENXIO,
  EPERM,
  GROUP_MUTEX,
  MEM_LIST_MUTEX,
  MMAP_LOCK,
  allocLevel,
  deferredCount,
  drain,
  exchange,
  installStep,
  kill,
  release,
  retire,
} from './common.ts';
import { type Exec, type PathDef, type ProgramDef, type StepDef, type ThreadCtx, threadKind } from './interp.ts';
import { BOGUS_PFN } from '../state/types.ts';

const ALL_POOLS = [LARGE_POOL, poolLock(0), poolLock(1), poolLock(2), poolLock(3)];
const need = (lock: string, mode: 'read' | 'write' = 'write') => ({ lock, mode });

/** Pages accounted to locked_vm for a table (get_table_size: the levels and the userspace copy). */
export function tablePages(levels: number, size: number, levelSize: number): number {
  const tce = levels === 1 ? 1 : 1 + Math.ceil(size / levelSize);
  return tce * 2;
}

// ---------------------------------------------------------------------------------------------
// Window creation: tce_iommu_create_default_window() / tce_iommu_create_window() (+ create_table).
// f.cw = { offset, size, levels, def, num, id }; f.cwLocked: this path took container->lock for it.
// ---------------------------------------------------------------------------------------------

/** After the window exists (or was not needed): where the path goes on. */
type Resume = (x: Exec) => void;

function windowSteps(resume: Resume, resumeNext: readonly string[]): Record<string, StepDef> {
  const done = (x: Exec) => {
    if (x.f.cwLocked) {
      x.unlock(CONTAINER_LOCK);
      x.f.cwLocked = false;
    }
    resume(x);
  };
  const fail = (x: Exec, ret: number) => {
    if (x.f.cwLocked) {
      x.unlock(CONTAINER_LOCK);
      x.f.cwLocked = false;
    }
    if (x.f.cwHeldLock) x.unlock(CONTAINER_LOCK);
    x.exit(ret);
  };
  return {
    // mutex_lock(&container->lock) around the default window (the corrected MAP/UNMAP; TCE_CREATE holds it anyway).
    cwLock: {
      next: ['cwCheck'],
      fn: 'tce_iommu_ioctl',
      needs: () => [need(CONTAINER_LOCK)],
      facets: [],
      run: (x) => {
        x.lock(CONTAINER_LOCK);
        x.sleeps('mutex_lock(&container->lock)');
        x.f.cwLocked = true;
        x.go('cwCheck');
      },
    },
    // tce_iommu_create_default_window: `if (!container->def_window_pending) return 0;`,
    // tce_iommu_create_window: num = tce_iommu_find_free_table(); tce_iommu_create_table():
    // account_locked_vm(table_size) (mmap_lock write inside).
    cwCheck: {
      next: ['cwAlloc', 'exit', ...resumeNext],
      fn: 'tce_iommu_create_window',
      needs: () => [need(MMAP_LOCK)],
      run: (x) => {
        const C = x.S.container;
        const cw = x.f.cw;
        if (cw.def && !C.d.defWindowPending) return done(x);
        const num = C.freeSlot();
        if (num < 0) return fail(x, num);
        cw.num = num;
        cw.pages = tablePages(cw.levels, cw.size, x.p('levelSize'));
        x.inside(MMAP_LOCK);
        if (x.fails('locked-vm', x.p('allocFailRate'))) return fail(x, ENOMEM);
        x.S.mem.account(cw.pages, 'tce_iommu_create_table');
        x.go('cwAlloc');
      },
    },
    // table_group->ops->create_table (pnv_pci_ioda2_create_table: top level + userspace copy,
    // GFP_KERNEL) then ops->set_window for the group (the PE's TVE).
    cwAlloc: {
      next: ['cwPublish', 'exit'],
      fn: 'pnv_pci_ioda2_create_table',
      run: (x) => {
        const cw = x.f.cw;
        x.sleeps('alloc_pages_node(GFP_KERNEL)');
        x.count('kmallocs');
        if (x.fails('alloc:table', x.p('allocFailRate'))) {
          x.S.mem.account(-cw.pages, 'tce_iommu_create_table');
          return fail(x, ENOMEM);
        }
        const C = x.S.container;
        const id = `W${C.d.nextTable++}`;
        x.S.tables.create({ id, offset: cw.offset, size: cw.size, levels: cw.levels, levelSize: x.p('levelSize'), userspace: true, vfio: true, accounted: cw.pages });
        x.S.tables.setWindow(cw.num, id);
        cw.id = id;
        x.go('cwPublish');
      },
    },
    // container->tables[num] = tbl; def_window_pending = false.
    cwPublish: {
      next: ['exit', ...resumeNext],
      fn: 'tce_iommu_create_window',
      run: (x) => {
        const C = x.S.container;
        const cw = x.f.cw;
        C.d.tables[cw.num] = cw.id;
        if (cw.def) C.d.defWindowPending = false;
        done(x);
      },
    },
  };
}

/** Set up the default window (32-bit, one level, at 0) when pending; `locked`: the path holds container->lock already. */
function startDefaultWindow(x: Exec, resume: Resume, locked: boolean): void {
  x.f.cw = { offset: 0, size: x.p('windowPages'), levels: 1, def: true };
  x.f.cwHeldLock = locked;
  if (!x.S.container.d.defWindowPending) return resume(x);
  if (!locked && x.g('defaultWindowLocked')) x.go('cwLock');
  else x.go('cwCheck');
}

// ---------------------------------------------------------------------------------------------
// tce_iommu_clear(container, tbl, entry, pages): f.c (next index), f.cEnd, f.cKillFrom, f.cAfter.
// ---------------------------------------------------------------------------------------------

function setupClear(x: Exec, from: number, to: number, after: string): void {
  x.f.c = from;
  x.f.cEnd = to;
  x.f.cKillFrom = from;
  x.f.cAfter = after;
}

function clearSteps(after: (x: Exec) => void, afterNext: readonly string[]): Record<string, StepDef> {
  const v1Batch = (x: Exec) => !x.S.container.d.v2 && deferredCount(x) >= x.p('deferBatch');
  const onward = (x: Exec) => {
    if (x.f.c < x.f.cEnd) x.go('clr');
    else after(x);
  };
  return {
    // One entry: the it_userspace shortcut for absent levels, cond_resched(), then
    // iommu_tce_xchg_no_kill(…, DMA_NONE); v2 tce_iommu_unuse_page_v2 / v1 tce_iommu_unuse_page.
    clr: {
      next: ['clr', 'ckill'],
      fn: 'tce_iommu_clear',
      run: (x) => {
        const T = x.S.tables;
        const t = T.table(x.f.tid);
        const c = x.f.c as number;
        if (t.levels > 1 && t.userspace && T.mirrorRead(t.id, c) === undefined) {
          // "align to level_size which is power of two": entry |= level_size - 1; continue.
          x.f.c = (c | (t.levelSize - 1)) + 1;
        } else {
          const r = exchange(x, t.id, c, null);
          if (!r.ok) throw new Error('clearing never allocates');
          if (r.old) {
            if (x.S.container.d.v2) {
              const ua = T.mirrorRead(t.id, c);
              retire(x, { ua: ua ?? 0 });
              T.mirrorWrite(t.id, c, null);
            } else retire(x, { pfn: r.old.pfn });
          }
          x.f.c = c + 1;
        }
        if (x.f.c >= x.f.cEnd || v1Batch(x)) x.go('ckill');
        else x.go('clr');
      },
    },
    // iommu_tce_kill(tbl, firstentry, pages) after the loop (and, corrected, before a full on-stack batch is released).
    ckill: {
      next: ['cdrain', 'clr', ...afterNext],
      fn: 'tce_iommu_clear',
      run: (x) => {
        const t = x.S.tables.table(x.f.tid);
        const end = Math.min(x.f.c, x.f.cEnd);
        if (x.params.kill !== 'per-entry') kill(x, t.id, t.offset + x.f.cKillFrom, end - x.f.cKillFrom);
        x.f.cKillFrom = end;
        if (deferredCount(x) > 0) x.go('cdrain');
        else onward(x);
      },
    },
    // Corrected order: release the pins / mapped counts only now that the TCE cache cannot hold them.
    cdrain: {
      next: ['clr', ...afterNext],
      fn: 'tce_iommu_clear',
      run: (x) => {
        drain(x);
        onward(x);
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// VFIO_IOMMU_MAP_DMA: tce_iommu_build (v1) / tce_iommu_build_v2.
// ---------------------------------------------------------------------------------------------

/** The table for the op's iova, the range check, then the first page. */
function mapFind(x: Exec): void {
  const op = x.f.op as Extract<Op, { op: 'map' }>;
  const found = x.S.container.findTable(op.entry, (id) => x.S.tables.table(id));
  if (!found) return x.exit(ENXIO);
  const t = x.S.tables.table(found.id);
  const idx0 = op.entry - t.offset;
  // iommu_tce_put_param_check(tbl, iova, vaddr) → iommu_tce_check_ioba(…, 1): first entry only.
  if (x.g('rangeInWindow') && idx0 + op.pages > t.size) return x.exit(EINVAL);
  Object.assign(x.f, { tid: t.id, idx0, n: op.pages, i: 0, ret: 0, killFrom: idx0, replaced: 0, deferred: [] });
  x.go(x.S.container.d.v2 ? 'pua' : 'pin');
}

function mapExit(x: Exec, ret: number): void {
  const op = x.f.op as Extract<Op, { op: 'map' }>;
  x.obs('map-result', { thread: x.self, start: op.entry, n: op.pages, ret, replaced: x.f.replaced ?? 0 });
  x.exit(ret);
}

/** A page failed: `if (ret) tce_iommu_clear(container, tbl, entry, i)` (after killing and releasing what the loop deferred). */
function mapFail(x: Exec, ret: number): void {
  x.f.ret = ret;
  if (deferredCount(x) > 0) {
    x.f.err = true;
    return x.go('kill');
  }
  mapClear(x);
}

function mapClear(x: Exec): void {
  if (x.f.i === 0) return mapExit(x, x.f.ret);
  setupClear(x, x.f.idx0, x.f.idx0 + x.f.i, 'exit');
  x.go('clr');
}

/** After a page: the next one, a batch kill (corrected order, v1 on-stack batch full), or the final kill. */
function mapNext(x: Exec): void {
  const v1 = !x.S.container.d.v2;
  if (v1 && deferredCount(x) >= x.p('deferBatch') && x.f.i < x.f.n) return x.go('kill');
  if (x.f.i < x.f.n) return x.go(v1 ? 'pin' : 'pua');
  x.go('kill');
}

function mapPath(): PathDef {
  const continueAfterKill = (x: Exec) => {
    if (x.f.err) {
      x.f.err = false;
      return mapClear(x);
    }
    if (x.f.i < x.f.n) return x.go(x.S.container.d.v2 ? 'pua' : 'pin');
    mapExit(x, x.f.ret);
  };
  const steps: Record<string, StepDef> = {
    // tce_iommu_ioctl(VFIO_IOMMU_MAP_DMA): `if (!container->enabled) return -EPERM;`, the default
    // window, tce_iommu_find_table, the parameter checks. No container->lock.
    start: {
      next: ['cwLock', 'cwCheck', 'pin', 'pua', 'exit'],
      fn: 'tce_iommu_ioctl',
      run: (x) => {
        if (!x.S.container.d.enabled) return x.exit(EPERM);
        startDefaultWindow(x, mapFind, false);
      },
    },
    ...windowSteps(mapFind, ['pin', 'pua']),
    // tce_iommu_use_page: pin_user_pages_fast(FOLL_WRITE unless TO_DEVICE). tce_page_is_contained
    // always holds for the 4K default window, the only v1 window.
    pin: {
      next: ['xchg', 'kill', 'clr', 'exit'],
      fn: 'tce_iommu_use_page',
      run: (x) => {
        const op = x.f.op as Extract<Op, { op: 'map' }>;
        x.sleeps('pin_user_pages_fast');
        x.count('gups');
        x.count('gups:map');
        const pfn = x.S.mem.userPfn(op.ua + x.f.i);
        if (pfn === null || x.fails('gup', x.p('gupFailRate'))) return mapFail(x, EFAULT);
        x.S.mem.pin(pfn, 'vfio');
        x.f.pfn = pfn;
        x.go('xchg');
      },
    },
    // v2: pua = IOMMU_TABLE_USERSPACE_ENTRY(tbl, entry + i) (pnv_tce(user, alloc): GFP_ATOMIC level).
    pua: {
      next: ['install', 'lookup', 'kill', 'clr', 'exit'],
      fn: 'tce_iommu_build_v2',
      run: (x) => {
        const idx = x.f.idx0 + x.f.i;
        if (x.S.tables.mirrorRead(x.f.tid, idx) !== undefined) return x.go('lookup');
        const w = x.S.tables.walk(x.f.tid, idx, true);
        if (w.leaf) throw new Error('mirror level present');
        if (!allocLevel(x, x.f.tid, w, true, 'pua')) return mapFail(x, ENOMEM);
        x.go('install');
      },
    },
    // tce_iommu_prereg_ua_to_hpa: mm_iommu_lookup (rcu_read_lock inside) + mm_iommu_ua_to_hpa.
    lookup: {
      next: ['inc', 'kill', 'clr', 'exit'],
      fn: 'tce_iommu_prereg_ua_to_hpa',
      run: (x) => {
        const op = x.f.op as Extract<Op, { op: 'map' }>;
        const P = x.S.prereg;
        P.rcuLock(x.self);
        const ua = op.ua + x.f.i;
        const region = P.lookup(ua);
        if (region) {
          x.f.mem = region;
          x.f.pfn = P.hpa(region, ua, x.where);
        }
        // Corrected: stay in the read-side section until mm_iommu_mapped_inc().
        if (!region || !x.g('lookupUnderRcu')) P.rcuUnlock(x.self);
        if (!region) return mapFail(x, EINVAL);
        x.go('inc');
      },
    },
    // `if (mm_iommu_mapped_inc(mem)) break;` (6.17 keeps ret == 0 there; corrected: -ENXIO).
    inc: {
      next: ['xchg', 'kill', 'clr', 'exit'],
      fn: 'mm_iommu_mapped_inc',
      run: (x) => {
        const P = x.S.prereg;
        const ok = P.mappedInc(x.f.mem, x.where);
        if ((P.d.readers[x.self] ?? 0) > 0) P.rcuUnlock(x.self);
        if (!ok) return mapFail(x, ENXIO);
        x.go('xchg');
      },
    },
    // iommu_tce_xchg_no_kill(container->mm, tbl, entry + i, &hpa, &dirtmp); the old entry's
    // page (v1) or mapped count (v2, through *pua) is released (corrected: deferred past the kill).
    xchg: {
      next: ['install', 'pin', 'pua', 'kill', 'clr', 'exit'],
      fn: 'iommu_tce_xchg_no_kill',
      run: (x) => {
        const op = x.f.op as Extract<Op, { op: 'map' }>;
        const v2 = x.S.container.d.v2;
        const idx = x.f.idx0 + x.f.i;
        const tce: Tce = v2 ? { pfn: x.f.pfn, perm: permOf(op.dir), src: 'v2', region: x.f.mem } : { pfn: x.f.pfn, perm: permOf(op.dir), src: 'v1' };
        const r = exchange(x, x.f.tid, idx, tce);
        if (!r.ok) {
          if (allocLevel(x, x.f.tid, r.walk, false, 'xchg')) return x.go('install');
          // -ENOMEM: v1 tce_iommu_unuse_page(hpa); v2 undoes the mapped_inc.
          if (!v2) x.S.mem.unpin(x.f.pfn, 'vfio');
          else if (x.g('xchgFailDecMapped')) x.S.prereg.mappedDec(x.f.mem, x.where);
          else release(x, { ua: x.S.tables.mirrorRead(x.f.tid, idx) ?? 0 }); // tce_iommu_unuse_page_v2(entry + i): a pua not written yet
          return mapFail(x, ENOMEM);
        }
        if (v2) {
          const oldUa = x.S.tables.mirrorRead(x.f.tid, idx);
          x.S.tables.mirrorWrite(x.f.tid, idx, op.ua + x.f.i);
          if (r.old) retire(x, { ua: oldUa ?? 0 });
        } else if (r.old) retire(x, { pfn: r.old.pfn });
        if (r.old) x.f.replaced++;
        x.f.i++;
        mapNext(x);
      },
    },
    install: installStep(['xchg', 'pua']),
    // `else iommu_tce_kill(tbl, entry, pages);` (and the corrected order's batch kills).
    kill: {
      next: ['drain', 'pin', 'pua', 'clr', 'exit'],
      fn: 'tce_iommu_build',
      run: (x) => {
        const t = x.S.tables.table(x.f.tid);
        const end = x.f.idx0 + x.f.i;
        if (x.params.kill !== 'per-entry') kill(x, t.id, t.offset + x.f.killFrom, end - x.f.killFrom);
        x.f.killFrom = end;
        if (deferredCount(x) > 0) return x.go('drain');
        continueAfterKill(x);
      },
    },
    drain: {
      next: ['pin', 'pua', 'clr', 'exit'],
      fn: 'tce_iommu_build',
      run: (x) => {
        drain(x);
        continueAfterKill(x);
      },
    },
    ...clearSteps((x) => mapExit(x, x.f.ret), ['exit']),
  };
  return { entry: 'start', steps, facets: ['tce.container', 'tce.tables', 'tce.cache', 'tce.mem', 'tce.prereg'], locks: [CONTAINER_LOCK, MMAP_LOCK] };
}

// ---------------------------------------------------------------------------------------------
// VFIO_IOMMU_UNMAP_DMA: tce_iommu_clear over [iova, iova + size).
// ---------------------------------------------------------------------------------------------

function unmapFind(x: Exec): void {
  const op = x.f.op as Extract<Op, { op: 'unmap' }>;
  const found = x.S.container.findTable(op.entry, (id) => x.S.tables.table(id));
  if (!found) return x.exit(ENXIO);
  const t = x.S.tables.table(found.id);
  const idx0 = op.entry - t.offset;
  // iommu_tce_clear_param_check(tbl, iova, 0, npages): npages ignored by iommu_tce_check_ioba.
  if (x.g('rangeInWindow') && idx0 + op.pages > t.size) return x.exit(EINVAL);
  x.f.tid = t.id;
  x.f.deferred = [];
  setupClear(x, idx0, idx0 + op.pages, 'exit');
  x.go('clr');
}

function unmapPath(): PathDef {
  const steps: Record<string, StepDef> = {
    start: {
      next: ['cwLock', 'cwCheck', 'clr', 'exit'],
      fn: 'tce_iommu_ioctl',
      run: (x) => {
        if (!x.S.container.d.enabled) return x.exit(EPERM);
        startDefaultWindow(x, unmapFind, false);
      },
    },
    ...windowSteps(unmapFind, ['clr']),
    ...clearSteps((x) => x.exit(0), ['exit']),
  };
  return { entry: 'start', steps, facets: ['tce.container', 'tce.tables', 'tce.cache', 'tce.mem', 'tce.prereg'], locks: [CONTAINER_LOCK, MMAP_LOCK] };
}

// ---------------------------------------------------------------------------------------------
// VFIO_IOMMU_SPAPR_REGISTER_MEMORY: tce_iommu_register_pages → mm_iommu_get / mm_iommu_new
// (mm_iommu_do_alloc, arch/powerpc/mm/book3s64/iommu_api.c), under container->lock.
// ---------------------------------------------------------------------------------------------

function registerPath(): PathDef {
  /** The pre-eb9d7a62c386 order holds mem_list_mutex from the lookup across the allocation. */
  const listHeld = (x: Exec) => x.c.held.includes(MEM_LIST_MUTEX);
  const listIn = (x: Exec) => {
    if (!listHeld(x)) x.inside(MEM_LIST_MUTEX);
  };
  const out = (x: Exec, ret: number) => {
    if (listHeld(x)) x.unlock(MEM_LIST_MUTEX);
    x.unlock(CONTAINER_LOCK);
    x.exit(ret);
  };
  /** free_exit / unlock_exit of mm_iommu_do_alloc. */
  const freeExit = (x: Exec, ret: number) => {
    const P = x.S.prereg;
    const r = P.region(x.f.mem);
    for (const pfn of r.pfns) x.S.mem.unpin(pfn, `region:${r.id}`, r.hpas === 'phys' ? 'phys' : 'page');
    r.pfns = [];
    P.discard(r.id, x.where);
    if (listHeld(x)) x.unlock(MEM_LIST_MUTEX);
    x.S.mem.account(-r.entries, 'mm_iommu_do_alloc');
    out(x, ret);
  };
  const steps: Record<string, StepDef> = {
    // tce_iommu_mm_set; mutex_lock(&container->lock); mm_iommu_get() under mem_list_mutex.
    start: {
      next: ['tcemem', 'put', 'account', 'exit'],
      fn: 'tce_iommu_register_pages',
      needs: () => [need(CONTAINER_LOCK), need(MEM_LIST_MUTEX)],
      facets: ['tce.container', 'tce.prereg'],
      run: (x) => {
        const op = x.f.op as Extract<Op, { op: 'register' }>;
        const C = x.S.container;
        C.d.mm = true;
        x.lock(CONTAINER_LOCK);
        x.sleeps('mutex_lock(&container->lock)');
        if (x.g('tcememFirst')) {
          // Corrected: allocate the tcemem before the region can become visible, so no failure
          // remains after mm_iommu_new() has listed it.
          x.sleeps('kzalloc(GFP_KERNEL)');
          x.count('kmallocs');
          if (x.fails('alloc:tcemem', x.p('allocFailRate'))) return out(x, ENOMEM);
        }
        if (x.g('allocUnderListMutex')) x.lock(MEM_LIST_MUTEX);
        else x.inside(MEM_LIST_MUTEX);
        const mem = x.S.prereg.get(op.ua, op.pages, x.where);
        if (mem) {
          x.f.mem = mem;
          if (C.d.tcemems.includes(mem)) {
            x.f.ret = EBUSY;
            return x.go('put');
          }
          return x.go('tcemem');
        }
        x.go('account');
      },
    },
    // account_locked_vm(mm, entries, true): mmap_write_lock, RLIMIT_MEMLOCK (-ENOMEM).
    account: {
      next: ['alloc', 'exit'],
      fn: 'mm_iommu_do_alloc',
      needs: () => [need(MMAP_LOCK)],
      run: (x) => {
        const op = x.f.op as Extract<Op, { op: 'register' }>;
        x.inside(MMAP_LOCK);
        x.sleeps('mmap_write_lock');
        if (x.fails('locked-vm', x.p('allocFailRate'))) return out(x, ENOMEM);
        x.S.mem.account(op.pages, 'mm_iommu_do_alloc');
        x.go('alloc');
      },
    },
    // kzalloc(mem); vzalloc(hpas).
    alloc: {
      next: ['pin', 'exit'],
      fn: 'mm_iommu_do_alloc',
      run: (x) => {
        const op = x.f.op as Extract<Op, { op: 'register' }>;
        x.sleeps('kzalloc(GFP_KERNEL)');
        x.count('kmallocs', 2);
        if (x.fails('alloc:mem', x.p('allocFailRate')) || x.fails('alloc:hpas', x.p('allocFailRate'))) {
          x.S.mem.account(-op.pages, 'mm_iommu_do_alloc');
          return out(x, ENOMEM);
        }
        x.f.mem = x.S.prereg.create(op.ua, op.pages, false);
        x.go('pin');
      },
    },
    // mmap_read_lock; pin_user_pages(FOLL_WRITE | FOLL_LONGTERM) in chunks; short → -EFAULT.
    pin: {
      next: ['publish', 'exit'],
      fn: 'mm_iommu_do_alloc',
      needs: () => [need(MMAP_LOCK, 'read')],
      run: (x) => {
        const op = x.f.op as Extract<Op, { op: 'register' }>;
        const r = x.S.prereg.region(x.f.mem);
        x.inside(MMAP_LOCK, 'read');
        x.sleeps('pin_user_pages');
        x.count('gups', op.pages);
        x.count('gups:register', op.pages);
        const stop = x.fails('gup', x.p('gupFailRate')) ? x.data.int(`gup-short:${x.self}`, op.pages) : op.pages;
        for (let k = 0; k < stop; k++) {
          const pfn = x.S.mem.userPfn(op.ua + k);
          if (pfn === null) break;
          x.S.mem.pin(pfn, `region:${r.id}`);
          r.pfns.push(pfn);
        }
        if (r.pfns.length !== op.pages) return freeExit(x, EFAULT);
        // Before c4b78169e366 the hpages[] were converted to physical addresses here, before the
        // last failure point (the overlap check).
        if (!x.g('physConvertAfterCheck')) r.hpas = 'phys';
        x.go('publish');
      },
    },
    // mutex_lock(&mem_list_mutex): the overlap check (-EINVAL → free_exit), hpages → hpas, list_add_rcu.
    publish: {
      next: ['tcemem', 'exit'],
      fn: 'mm_iommu_do_alloc',
      needs: (c) => (c.held.includes(MEM_LIST_MUTEX) ? [] : [need(MEM_LIST_MUTEX)]),
      run: (x) => {
        const op = x.f.op as Extract<Op, { op: 'register' }>;
        const P = x.S.prereg;
        listIn(x);
        if (P.overlaps(op.ua, op.pages)) return freeExit(x, EINVAL);
        P.region(x.f.mem).hpas = 'phys';
        P.publish(x.f.mem, x.where);
        if (listHeld(x)) x.unlock(MEM_LIST_MUTEX);
        x.go('tcemem');
      },
    },
    // tcemem = kzalloc() (corrected: done at the start); list_add(&tcemem->next, &container->prereg_list); enabled = true.
    tcemem: {
      next: ['put', 'exit'],
      fn: 'tce_iommu_register_pages',
      facets: ['tce.container', 'tce.prereg'],
      run: (x) => {
        if (listHeld(x)) x.unlock(MEM_LIST_MUTEX);
        if (!x.g('tcememFirst')) {
          // 6.17: the region is already on the mm's list, where any MAP can find and map it; if
          // this kzalloc fails, put_exit's mm_iommu_put() meets mapped > 1, returns -EBUSY
          // (ignored) and the region stays listed with no tcemem.
          x.sleeps('kzalloc(GFP_KERNEL)');
          x.count('kmallocs');
          if (x.fails('alloc:tcemem', x.p('allocFailRate'))) {
            x.f.ret = ENOMEM;
            return x.go('put');
          }
        }
        x.S.container.addTcemem(x.f.mem);
        x.S.container.d.enabled = true;
        out(x, 0);
      },
    },
    // put_exit: mm_iommu_put(container->mm, mem) (mem_list_mutex; account_locked_vm after it).
    put: {
      next: ['exit'],
      fn: 'mm_iommu_put',
      needs: (c) => (c.held.includes(MEM_LIST_MUTEX) ? [] : [need(MEM_LIST_MUTEX)]),
      run: (x) => {
        listIn(x);
        const r = x.S.prereg.put(x.f.mem, x.where);
        if (listHeld(x)) x.unlock(MEM_LIST_MUTEX);
        if (r.unaccount) x.S.mem.account(-r.unaccount, 'mm_iommu_put');
        out(x, x.f.ret);
      },
    },
  };
  return { entry: 'start', steps, facets: ['tce.container', 'tce.prereg', 'tce.mem'], locks: [CONTAINER_LOCK, MEM_LIST_MUTEX, MMAP_LOCK] };
}

// ---------------------------------------------------------------------------------------------
// VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY: tce_iommu_unregister_pages, under container->lock.
// ---------------------------------------------------------------------------------------------

function unregisterPath(): PathDef {
  const finish = (x: Exec) => {
    x.unlock(CONTAINER_LOCK);
    x.exit(x.f.ret);
  };
  const steps: Record<string, StepDef> = {
    // mem = mm_iommu_get(container->mm, vaddr, size >> PAGE_SHIFT) (used++); find the tcemem.
    start: {
      next: ['putLookup', 'preregFree', 'exit'],
      fn: 'tce_iommu_unregister_pages',
      needs: () => [need(CONTAINER_LOCK), need(MEM_LIST_MUTEX)],
      run: (x) => {
        const op = x.f.op as Extract<Op, { op: 'unregister' }>;
        if (!x.S.container.d.mm) return x.exit(EPERM);
        x.lock(CONTAINER_LOCK);
        x.sleeps('mutex_lock(&container->lock)');
        x.inside(MEM_LIST_MUTEX);
        const mem = x.S.prereg.get(op.ua, op.pages, x.where);
        if (!mem) {
          x.unlock(CONTAINER_LOCK);
          return x.exit(ENOENT);
        }
        x.f.mem = mem;
        x.f.found = x.S.container.d.tcemems.includes(mem);
        x.f.ret = x.f.found ? 0 : ENOENT;
        // 6.17: tce_iommu_prereg_free() first, then the lookup's mm_iommu_put() with its result ignored.
        x.go(x.g('unregisterPutLookupFirst') || !x.f.found ? 'putLookup' : 'preregFree');
      },
    },
    // mm_iommu_put(container->mm, mem): drop the lookup's reference.
    putLookup: {
      next: ['preregFree', 'exit'],
      fn: 'tce_iommu_unregister_pages',
      needs: () => [need(MEM_LIST_MUTEX)],
      run: (x) => {
        x.inside(MEM_LIST_MUTEX);
        const r = x.S.prereg.put(x.f.mem, x.where);
        if (r.unaccount) x.S.mem.account(-r.unaccount, 'mm_iommu_put');
        x.f.putLookupDone = true;
        if (x.f.found && !x.f.preregDone) return x.go('preregFree');
        finish(x);
      },
    },
    // tce_iommu_prereg_free: mm_iommu_put() (-EBUSY while mapped: keep the tcemem), list_del, kfree.
    preregFree: {
      next: ['putLookup', 'exit'],
      fn: 'tce_iommu_prereg_free',
      needs: () => [need(MEM_LIST_MUTEX)],
      run: (x) => {
        x.inside(MEM_LIST_MUTEX);
        const r = x.S.prereg.put(x.f.mem, x.where);
        if (r.unaccount) x.S.mem.account(-r.unaccount, 'mm_iommu_put');
        x.f.preregDone = true;
        if (r.ret) x.f.ret = r.ret;
        else x.S.container.delTcemem(x.f.mem);
        if (!x.f.putLookupDone) return x.go('putLookup');
        finish(x);
      },
    },
  };
  return { entry: 'start', steps, facets: ['tce.container', 'tce.prereg', 'tce.mem'], locks: [CONTAINER_LOCK, MEM_LIST_MUTEX] };
}

// ---------------------------------------------------------------------------------------------
// Group attach: the iommu core's claim (pnv: blocked domain → pnv_ioda2_take_ownership) or the
// it_map protocol (iommu_take_ownership, pseries / generic before 2024), then tce_iommu_attach_group.
// ---------------------------------------------------------------------------------------------

function attachPath(): PathDef {
  const unlockPools = (x: Exec) => {
    for (const l of [...x.c.held].reverse()) if (l === LARGE_POOL || l.startsWith('tce:pool[')) x.unlock(l);
  };
  const poolLocksHeld = (x: Exec) => x.c.held.filter((l) => l === LARGE_POOL || l.startsWith('tce:pool['));
  const steps: Record<string, StepDef> = {
    start: {
      next: ['lock', 'lockLarge', 'takeCheck', 'exit'],
      fn: 'iommu_group_claim_dma_owner',
      needs: (c) => (c.cfg.ownership === 'pnv' ? [need(GROUP_MUTEX)] : []),
      run: (x) => {
        const Pl = x.S.pools;
        if (x.params.ownership === 'pnv') {
          // __iommu_group_set_domain(blocked): -EBUSY while the host driver is bound; then
          // spapr_tce_blocked_iommu_attach_dev → pnv_ioda2_take_ownership: set_bypass(false),
          // unset_window(0) (PE invalidation), set_iommu_table_base(NULL), iommu_tce_table_put.
          x.inside(GROUP_MUTEX);
          x.sleeps('mutex_lock(&group->mutex)');
          if (Pl.d.bound) return x.exit(EBUSY);
          Pl.d.owner = 'vfio';
          x.obs('own', { op: 'take', owner: 'vfio', liveMappings: Object.keys(Pl.d.mappings).length, by: x.where });
          if (x.S.tables.d.windows[0] === KTABLE) {
            x.S.tables.setWindow(0, null);
            x.S.cache.killAll(KTABLE, x.where);
            x.count('kills');
            x.S.tables.free(KTABLE, x.where);
          }
          return x.go('lock');
        }
        x.go(x.g('ownershipLocked') ? 'lockLarge' : 'takeCheck');
      },
    },
    // iommu_take_ownership: spin_lock_irqsave(&tbl->large_pool.lock) …
    lockLarge: {
      next: ['lockPool'],
      fn: 'iommu_take_ownership',
      needs: () => [need(LARGE_POOL)],
      run: (x) => {
        x.lock(LARGE_POOL);
        x.f.p = 0;
        x.go('lockPool');
      },
    },
    // … spin_lock_nest_lock(&tbl->pools[i].lock, &tbl->large_pool.lock), one pool per step.
    lockPool: {
      next: ['lockPool', 'takeCheck'],
      fn: 'iommu_take_ownership',
      needs: (c) => [need(poolLock(c.f.p))],
      run: (x) => {
        x.lock(poolLock(x.f.p));
        x.f.p++;
        x.go(x.f.p < x.p('nrPools') ? 'lockPool' : 'takeCheck');
      },
    },
    // iommu_table_in_use() → -EBUSY; else memset(tbl->it_map, 0xff) (before b82c75bfbeb5: no locks, check and fill apart).
    takeCheck: {
      next: ['takeFill', 'lock', 'exit'],
      fn: 'iommu_take_ownership',
      run: (x) => {
        const Pl = x.S.pools;
        if (Pl.inUse()) {
          x.obs('own', { op: 'take-busy', owner: Pl.d.owner, liveMappings: Object.keys(Pl.d.mappings).length, by: x.where });
          unlockPools(x);
          return x.exit(EBUSY);
        }
        if (!x.g('ownershipLocked')) return x.go('takeFill');
        Pl.fill(poolLocksHeld(x), x.where);
        unlockPools(x);
        x.go('lock');
      },
    },
    takeFill: {
      next: ['lock'],
      fn: 'iommu_take_ownership',
      run: (x) => {
        x.S.pools.fill(poolLocksHeld(x), x.where);
        x.go('lock');
      },
    },
    // tce_iommu_attach_group: container->lock; v1 one group only; kzalloc(tcegrp);
    // tce_iommu_take_ownership (set_window for existing tables); def_window_pending.
    lock: {
      next: ['exit'],
      fn: 'tce_iommu_attach_group',
      needs: () => [need(CONTAINER_LOCK)],
      run: (x) => {
        const C = x.S.container;
        x.lock(CONTAINER_LOCK);
        x.sleeps('mutex_lock(&container->lock)');
        const done = (ret: number) => {
          x.unlock(CONTAINER_LOCK);
          x.exit(ret);
        };
        if (C.d.attached) return done(EBUSY);
        x.sleeps('kzalloc(tcegrp)');
        if (x.fails('alloc:tcegrp', x.p('allocFailRate'))) return done(ENOMEM);
        for (let i = 0; i < C.d.tables.length; i++) if (C.d.tables[i]) x.S.tables.setWindow(i, C.d.tables[i]);
        if (x.params.ownership === 'itmap' && !C.d.v2) {
          // Pre-2024 v1: the container uses the kernel's own table (it_map now all ones).
          C.d.tables[0] = KTABLE;
        } else {
          if (x.params.ownership === 'itmap' && x.S.tables.d.windows[0] === KTABLE) {
            x.S.tables.setWindow(0, null);
            x.S.cache.killAll(KTABLE, x.where);
            x.count('kills');
          }
          if (!C.d.tables[0]) C.d.defWindowPending = true;
        }
        C.d.attached = true;
        done(0);
      },
    },
  };
  return { entry: 'start', steps, facets: ['tce.container', 'tce.pools', 'tce.tables', 'tce.cache'], locks: [GROUP_MUTEX, CONTAINER_LOCK, ...ALL_POOLS] };
}

// ---------------------------------------------------------------------------------------------
// VFIO_IOMMU_ENABLE (v1): tce_iommu_enable under container->lock.
// ---------------------------------------------------------------------------------------------

function enablePath(): PathDef {
  const steps: Record<string, StepDef> = {
    start: {
      next: ['exit'],
      fn: 'tce_iommu_enable',
      needs: () => [need(CONTAINER_LOCK), need(MMAP_LOCK)],
      run: (x) => {
        const C = x.S.container;
        x.lock(CONTAINER_LOCK);
        x.sleeps('mutex_lock(&container->lock)');
        const done = (ret: number) => {
          x.unlock(CONTAINER_LOCK);
          x.exit(ret);
        };
        if (C.d.enabled) return done(EBUSY);
        if (!C.d.attached) return done(ENODEV);
        C.d.mm = true;
        // locked = table_group->tce32_size >> PAGE_SHIFT; account_locked_vm(mm, locked, true).
        x.inside(MMAP_LOCK);
        if (x.fails('locked-vm', x.p('allocFailRate'))) return done(ENOMEM);
        x.S.mem.account(x.p('windowPages'), 'tce_iommu_enable');
        C.d.lockedPages = x.p('windowPages');
        C.d.enabled = true;
        done(0);
      },
    },
  };
  return { entry: 'start', steps, facets: ['tce.container', 'tce.mem'], locks: [CONTAINER_LOCK, MMAP_LOCK] };
}

// ---------------------------------------------------------------------------------------------
// VFIO_IOMMU_SPAPR_TCE_CREATE (v2): the default window if pending, then the DDW; all under container->lock.
// ---------------------------------------------------------------------------------------------

function createPath(): PathDef {
  const ddw = (x: Exec) => {
    const op = x.f.op as Extract<Op, { op: 'create' }>;
    x.f.cw = { offset: DDW_OFFSET, size: op.pages, levels: op.levels, def: false };
    x.f.created = true;
    x.go('cwCheck');
  };
  const resume = (x: Exec) => {
    if (!x.f.created) return ddw(x);
    x.unlock(CONTAINER_LOCK);
    x.exit(0);
  };
  const steps: Record<string, StepDef> = {
    start: {
      next: ['cwCheck', 'exit'],
      fn: 'tce_iommu_ioctl',
      needs: () => [need(CONTAINER_LOCK)],
      run: (x) => {
        const C = x.S.container;
        C.d.mm = true;
        if (!C.d.attached) return x.exit(ENXIO);
        x.lock(CONTAINER_LOCK);
        x.sleeps('mutex_lock(&container->lock)');
        startDefaultWindow(x, resume, true);
      },
    },
    ...windowSteps(resume, ['cwCheck', 'exit']),
  };
  return { entry: 'start', steps, facets: ['tce.container', 'tce.tables', 'tce.mem'], locks: [CONTAINER_LOCK, MMAP_LOCK] };
}

// ---------------------------------------------------------------------------------------------
// munmap() of the VMM's memory: mmap_lock write.
// ---------------------------------------------------------------------------------------------

function munmapPath(): PathDef {
  return {
    entry: 'start',
    steps: {
      start: {
        next: ['exit'],
        fn: 'do_vmi_munmap',
        needs: () => [need(MMAP_LOCK)],
        run: (x) => {
          const op = x.f.op as Extract<Op, { op: 'munmap' }>;
          x.inside(MMAP_LOCK);
          x.sleeps('mmap_write_lock');
          x.S.mem.munmap(op.ua, op.pages);
          x.exit(0);
        },
      },
    },
    facets: ['tce.mem'],
    locks: [MMAP_LOCK],
  };
}

// ---------------------------------------------------------------------------------------------
// close(): tce_iommu_release → tce_iommu_detach_group (clear + unset_window per table), the iommu
// core's release of the group, tce_iommu_free_table, tce_iommu_prereg_free, tce_iommu_disable.
// ---------------------------------------------------------------------------------------------

function releasePath(): PathDef {
  const nextTable = (x: Exec) => {
    const C = x.S.container;
    while (x.f.tnum < C.d.tables.length && !C.d.tables[x.f.tnum]) x.f.tnum++;
    if (x.f.tnum >= C.d.tables.length) return x.go('detached');
    const t = x.S.tables.table(C.d.tables[x.f.tnum]!);
    x.f.tid = t.id;
    x.f.deferred = [];
    setupClear(x, 0, t.size, 'unset');
    x.go('clr');
  };
  const steps: Record<string, StepDef> = {
    start: {
      next: ['tables', 'freeTables'],
      fn: 'tce_iommu_release',
      needs: () => [need(CONTAINER_LOCK)],
      run: (x) => {
        if (!x.S.container.d.attached) return x.go('freeTables');
        // tce_iommu_detach_group: mutex_lock(&container->lock).
        x.lock(CONTAINER_LOCK);
        x.sleeps('mutex_lock(&container->lock)');
        x.f.tnum = 0;
        x.go('tables');
      },
    },
    // tce_iommu_release_ownership: for each table, tce_iommu_clear(whole window) + unset_window.
    tables: {
      next: ['clr', 'detached'],
      fn: 'tce_iommu_release_ownership',
      run: nextTable,
    },
    ...clearSteps((x) => x.go('unset'), ['unset']),
    unset: {
      next: ['tables'],
      fn: 'pnv_pci_ioda2_unset_window',
      run: (x) => {
        const t = x.S.tables.table(x.f.tid);
        if (x.S.tables.d.windows[x.f.tnum] === t.id) x.S.tables.setWindow(x.f.tnum, null);
        kill(x, t.id, t.offset, t.size);
        x.f.tnum++;
        x.go('tables');
      },
    },
    // list_del(tcegrp); unlock; then the core gives the group back to the platform:
    // pnv_ioda2_release_ownership → setup_default_config (a new default table), or (itmap)
    // iommu_release_ownership under every pool lock.
    detached: {
      next: ['relLarge', 'freeTables'],
      fn: 'tce_iommu_detach_group',
      run: (x) => {
        const C = x.S.container;
        C.d.attached = false;
        x.unlock(CONTAINER_LOCK);
        if (x.params.ownership === 'pnv') {
          const T = x.S.tables;
          if (!T.d.tables[KTABLE] || T.d.tables[KTABLE].freed) {
            T.create({ id: KTABLE, offset: 0, size: x.p('windowPages'), levels: x.p('levels'), levelSize: x.p('levelSize'), userspace: false, vfio: false, accounted: 0 });
          }
          if (!T.d.windows[0]) T.setWindow(0, KTABLE);
          x.S.pools.d.owner = 'kernel';
          x.obs('own', { op: 'release', owner: 'kernel', liveMappings: Object.keys(x.S.pools.d.mappings).length, by: x.where });
          return x.go('freeTables');
        }
        x.go('relLarge');
      },
    },
    relLarge: {
      next: ['relPool'],
      fn: 'iommu_release_ownership',
      needs: () => [need(LARGE_POOL)],
      run: (x) => {
        x.lock(LARGE_POOL);
        x.f.p = 0;
        x.go('relPool');
      },
    },
    relPool: {
      next: ['relPool', 'relEmpty'],
      fn: 'iommu_release_ownership',
      needs: (c) => [need(poolLock(c.f.p))],
      run: (x) => {
        x.lock(poolLock(x.f.p));
        x.f.p++;
        x.go(x.f.p < x.p('nrPools') ? 'relPool' : 'relEmpty');
      },
    },
    // memset(tbl->it_map, 0, sz); iommu_table_reserve_pages(); unlock in reverse.
    relEmpty: {
      next: ['freeTables'],
      fn: 'iommu_release_ownership',
      run: (x) => {
        const locks = x.c.held.filter((l) => l === LARGE_POOL || l.startsWith('tce:pool['));
        x.S.pools.empty(locks, x.where);
        for (const l of [...locks].reverse()) x.unlock(l);
        if (!x.S.tables.d.windows[0]) x.S.tables.setWindow(0, KTABLE);
        if (x.S.container.d.tables[0] === KTABLE) x.S.container.d.tables[0] = null;
        x.go('freeTables');
      },
    },
    // tce_iommu_free_table for every table VFIO created: iommu_tce_table_put + account_locked_vm(-).
    freeTables: {
      next: ['prereg'],
      fn: 'tce_iommu_free_table',
      run: (x) => {
        const C = x.S.container;
        for (let i = 0; i < C.d.tables.length; i++) {
          const id = C.d.tables[i];
          if (!id) continue;
          const t = x.S.tables.table(id);
          if (t.vfio) {
            x.S.tables.free(id, x.where);
            x.S.mem.account(-t.accounted, 'tce_iommu_free_table');
          }
          C.d.tables[i] = null;
        }
        x.go('prereg');
      },
    },
    // WARN_ON(tce_iommu_prereg_free(container, tcemem)) for each, one per step.
    prereg: {
      next: ['prereg', 'disable'],
      fn: 'tce_iommu_prereg_free',
      needs: () => [need(MEM_LIST_MUTEX)],
      run: (x) => {
        const C = x.S.container;
        const k = x.f.k ?? 0;
        const mem = C.d.tcemems[k];
        if (mem === undefined) return x.go('disable');
        x.inside(MEM_LIST_MUTEX);
        const r = x.S.prereg.put(mem, x.where);
        if (r.unaccount) x.S.mem.account(-r.unaccount, 'mm_iommu_put');
        if (r.ret === 0) C.delTcemem(mem);
        else x.f.k = k + 1;
        x.go(C.d.tcemems[x.f.k ?? 0] === undefined ? 'disable' : 'prereg');
      },
    },
    // tce_iommu_disable: account_locked_vm(mm, locked_pages, false).
    disable: {
      next: ['exit'],
      fn: 'tce_iommu_disable',
      run: (x) => {
        const C = x.S.container;
        if (C.d.enabled && !C.d.v2) x.S.mem.account(-C.d.lockedPages, 'tce_iommu_disable');
        C.d.enabled = false;
        C.d.released = true;
        x.exit(0);
      },
    },
  };
  return { entry: 'start', steps, facets: ['tce.container', 'tce.tables', 'tce.cache', 'tce.mem', 'tce.prereg', 'tce.pools'], locks: [CONTAINER_LOCK, MEM_LIST_MUTEX, ...ALL_POOLS] };
}

// ---------------------------------------------------------------------------------------------
// The 2012 seed: iommu_put_tces(tbl, entry, tce, direction, pages) on the kernel's table, under
// the pool spinlock(s), with an oldpages[] batch flushed then put (mapPath=seed, v1, itmap).
// The fixed seed path is the thread's resolution ("seed-reviewed": return on GUP failure, GUP
// outside the spinlock, a map-only scan returning -EBUSY without kmalloc, every spanned pool
// locked); variants switch back to the posted behaviours one at a time.
// ---------------------------------------------------------------------------------------------

/** The pool locks covering [start, start + n) in lock order (large pool first, like take_ownership). */
export function spannedPools(start: number, n: number, size: number, nrPools: number): string[] {
  const { pools, large } = poolLayout(size, nrPools);
  const out = new Set<string>();
  for (let e = start; e < start + n; e++) {
    if (e >= large.start) out.add(LARGE_POOL);
    else {
      const i = pools.findIndex((q) => e >= q.start && e < q.end);
      out.add(poolLock(Math.max(0, i)));
    }
  }
  return [...out].sort((a, b) => (a === LARGE_POOL ? -1 : b === LARGE_POOL ? 1 : a < b ? -1 : 1));
}

function seedPath(unmap: boolean): PathDef {
  const mapOp = (x: Exec) => x.f.op as Extract<Op, { op: 'map' }>;
  const unpinGathered = (x: Exec) => {
    for (const pfn of x.f.pfns as number[]) if (pfn !== BOGUS_PFN) x.S.mem.unpin(pfn, 'vfio');
    x.f.pfns = [];
  };
  const result = (x: Exec, ret: number) => {
    if (!unmap) x.obs('map-result', { thread: x.self, start: x.f.op.entry, n: x.f.n, ret, replaced: x.f.replaced ?? 0 });
    x.exit(ret);
  };
  /** One GUP of the seed's put_tce(): on failure return (reviewed) or carry on with the page pointer unset (posted). */
  const gup = (x: Exec): boolean => {
    const op = mapOp(x);
    x.sleeps('get_user_pages_fast');
    x.count('gups');
    const pfn = x.S.mem.userPfn(op.ua + x.f.g);
    if (pfn === null || x.fails('gup', x.p('gupFailRate'))) {
      if (x.g('seedReturnOnGupFail')) return false;
      (x.f.pfns as number[]).push(BOGUS_PFN); // "Missing return ret?": page_address(page) of an unset page
    } else {
      x.S.mem.pin(pfn, 'vfio');
      (x.f.pfns as number[]).push(pfn);
    }
    x.f.g++;
    return true;
  };
  const steps: Record<string, StepDef> = {
    // tce_iommu_ioctl (2012): param checks; then iommu_put_tces.
    start: {
      next: ['kmalloc', 'gup', 'lock', 'exit'],
      fn: 'iommu_put_tces',
      run: (x) => {
        const op = x.f.op as Extract<Op, { op: 'map' | 'unmap' }>;
        const C = x.S.container;
        if (!C.d.enabled) return x.exit(EPERM);
        const tid = C.d.tables[0];
        if (!tid) return x.exit(ENXIO);
        const t = x.S.tables.table(tid);
        if (op.entry < t.offset || op.entry + op.pages > t.offset + t.size) return x.exit(EINVAL);
        Object.assign(x.f, { tid, idx0: op.entry - t.offset, n: op.pages, i: 0, g: 0, pfns: [], old: [], ret: 0, replaced: 0, kmalloc: false });
        x.f.locks = spannedPools(op.entry - t.offset, op.pages, t.size, x.p('nrPools'));
        const needKmalloc = op.pages > 1 && (unmap || !x.g('seedMapOnly'));
        if (needKmalloc) return x.go('kmalloc');
        x.go(!unmap && x.g('seedGupOutsideLock') ? 'gup' : 'lock');
      },
    },
    // oldpages = kmalloc(PAGE_SIZE, GFP_KERNEL) for pages > 1.
    kmalloc: {
      next: ['gup', 'lock', 'exit'],
      fn: 'iommu_put_tces',
      run: (x) => {
        x.sleeps('kmalloc(PAGE_SIZE, GFP_KERNEL)');
        x.count('kmallocs');
        x.count(unmap ? 'oldpagesKmallocs:unmap' : 'oldpagesKmallocs:map');
        const failed = x.fails('alloc:oldpages', x.p('allocFailRate'));
        x.obs('kmalloc', { path: x.where, size: 'PAGE_SIZE', failed });
        if (failed) return result(x, ENOMEM);
        x.f.kmalloc = true;
        x.go(!unmap && x.g('seedGupOutsideLock') ? 'gup' : 'lock');
      },
    },
    // Reviewed: get_user_pages_fast for every page before taking the spinlock.
    gup: {
      next: ['gup', 'lock', 'exit'],
      fn: 'put_tce',
      run: (x) => {
        if (!gup(x)) {
          unpinGathered(x);
          return result(x, EFAULT);
        }
        x.go(x.f.g < x.f.n ? 'gup' : 'lock');
      },
    },
    // spin_lock(&pool->lock): get_pool(tbl, entry) (reviewed: every pool the range spans).
    lock: {
      next: ['scan', 'put'],
      fn: 'iommu_put_tces',
      needs: (c) => (c.f.locks as string[]).map((l) => need(l)),
      run: (x) => {
        for (const l of x.f.locks as string[]) x.lock(l);
        x.go(!unmap && x.g('seedMapOnly') ? 'scan' : 'put');
      },
    },
    // Map-only (Alex's suggestion): scan the range, -EBUSY if any entry is live, without a buffer.
    scan: {
      next: ['put', 'exit'],
      fn: 'iommu_put_tces',
      run: (x) => {
        for (let k = 0; k < x.f.n; k++) {
          if (x.S.tables.read(x.f.tid, x.f.idx0 + k)) {
            unpinGathered(x);
            for (const l of [...(x.f.locks as string[])].reverse()) x.unlock(l);
            return result(x, EBUSY);
          }
        }
        x.go('put');
      },
    },
    // One page: free_tce (tce_get; SetPageDirty if WRITE; tce_free) then put_tce (the GUP here
    // in the posted version, under the spinlock; tce_build). Flush + put the batch when full,
    // at the last page, or on error.
    put: {
      next: ['put', 'flush'],
      fn: 'free_tce/put_tce',
      run: (x) => {
        const idx = x.f.idx0 + x.f.i;
        const r = exchange(x, x.f.tid, idx, null, { ownKill: true });
        if (!r.ok) throw new Error('seed tables are one level');
        if (r.old) {
          (x.f.old as number[]).push(r.old.pfn);
          x.f.replaced++;
        }
        if (!unmap) {
          const op = mapOp(x);
          if (!x.g('seedGupOutsideLock') && !gup(x)) {
            x.f.ret = EFAULT;
          } else {
            const pfn = (x.f.pfns as number[])[x.f.i];
            exchange(x, x.f.tid, idx, { pfn, perm: permOf(op.dir), src: 'seed' }, { ownKill: true });
          }
        }
        x.f.i++;
        const full = (x.f.old as number[]).length >= x.p('oldpagesnum');
        x.go(full || x.f.i >= x.f.n || x.f.ret ? 'flush' : 'put');
      },
    },
    // tce_flush(tbl) (ppc_md.tce_flush: the whole table) then put_page() of the batch.
    flush: {
      next: ['put', 'exit'],
      fn: 'tce_flush',
      run: (x) => {
        const t = x.S.tables.table(x.f.tid);
        kill(x, t.id, t.offset, t.size);
        for (const pfn of x.f.old as number[]) x.S.mem.unpin(pfn, 'vfio');
        x.f.old = [];
        if (x.f.i < x.f.n && !x.f.ret) return x.go('put');
        for (const l of [...(x.f.locks as string[])].reverse()) x.unlock(l);
        if (x.f.ret) {
          // The pages gathered for entries not reached are released.
          for (const pfn of (x.f.pfns as number[]).slice(x.f.i)) if (pfn !== BOGUS_PFN) x.S.mem.unpin(pfn, 'vfio');
        }
        result(x, x.f.ret);
      },
    },
  };
  return { entry: 'start', steps, facets: ['tce.container', 'tce.tables', 'tce.cache', 'tce.mem', 'tce.prereg'], locks: [...ALL_POOLS] };
}

// ---------------------------------------------------------------------------------------------

export const userGuards = {
  releaseAfterKill: true,
  levelCmpxchg: true,
  unregisterPutLookupFirst: true,
  allocUnderListMutex: false,
  physConvertAfterCheck: true,
  rangeInWindow: true,
  defaultWindowLocked: true,
  xchgFailDecMapped: true,
  lookupUnderRcu: true,
  tcememFirst: true,
  dirtySkipsDevmem: true,
  ownershipLocked: true,
  seedReturnOnGupFail: true,
  seedMapOnly: true,
  seedGupOutsideLock: true,
};

export function userProgram(): ProgramDef {
  const paths: Record<string, PathDef> = {
    attach: attachPath(),
    enable: enablePath(),
    register: registerPath(),
    unregister: unregisterPath(),
    create: createPath(),
    map: mapPath(),
    unmap: unmapPath(),
    seedMap: seedPath(false),
    seedUnmap: seedPath(true),
    munmap: munmapPath(),
    start_guest: {
      entry: 'start',
      steps: {
        start: {
          next: ['exit'],
          fn: 'vm_start (QEMU)',
          run: (x) => {
            x.S.kvm.d.running = true;
            x.exit(0);
          },
        },
      },
      facets: ['tce.kvm'],
      locks: [],
    },
    wait_guest: {
      entry: 'start',
      steps: { start: { next: ['exit'], fn: 'QEMU thread start', run: (x) => x.exit(0) } },
      // ready() waited for the guest to run (a read of tce.kvm); the step itself touches nothing.
      facets: [],
      locks: [],
    },
    release: releasePath(),
  };
  return {
    kind: 'tce.user',
    paths,
    guards: userGuards,
    // mapPath=seed: MAP and UNMAP go through the 2012 iommu_put_tces().
    pathOf: (op, c) => (c.cfg.mapPath === 'seed' && (op.op === 'map' || op.op === 'unmap') ? (op.op === 'map' ? 'seedMap' : 'seedUnmap') : op.op),
    finishes: true,
    readyFacets: ['tce.container', 'tce.pools', 'tce.kvm'] as FacetName[],
    ready(c: ThreadCtx, S: Facets) {
      const op = c.ops[c.next];
      // The VMM is started after the admin unbound the host driver (when the workload says so).
      if (op.op === 'attach' && op.afterUnbind) return !S.pools.d.bound;
      // close() runs tce_iommu_release when no other thread can be in an ioctl (the last fput).
      if (op.op === 'release') return op.waitFor.every((t) => S.container.d.finished.includes(t));
      if (op.op === 'wait_guest') return S.kvm.d.running;
      return true;
    },
  };
}

export const userKind = threadKind(userProgram());
