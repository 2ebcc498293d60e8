/**
 * The iommufd structures of one run as a piece of shared state: the io_pagetables, areas,
 * iopt_pages, domains (with their IOPTEs), the objects xarray, page pins (kernel/pins.ts) and the
 * user's page-frame layout. The CPU cache (kernel/cpuCache.ts) is a separate piece this one
 * flushes and reads lines from.
 *
 * Threads of control change it only through the step functions (state/pages.ts,
 * state/ioPagetable.ts), which run in an actor's `prepare`. A step first declares which locks it
 * takes (`begin`); every write to a field documented as protected by a lock asserts that the
 * stepping actor holds that lock or takes it in this step (`need`): a step that writes without it
 * is a model error and the run is reported as errored.
 *
 * Every mutation an ioctl makes is journalled per actor, so that a failed ioctl (a `fail:` draw)
 * can be checked to leave everything as before (fail-atomic), even with other threads running.
 */
import type { DataPort } from '../../../core/model/kind.ts';
import type { LockMode, LockPort } from '../../../core/model/locks.ts';
import type { SharedPort, SharedState } from '../../../core/model/shared.ts';
import { CpuCache } from '../../../kernel/cpuCache.ts';
import { PinTable, type PinTableState } from '../../../kernel/pins.ts';
import {
  type Area,
  type Domain,
  type Iopt,
  type Journal,
  type KObject,
  type Pages,
  type Policy,
  type Pte,
  type UnpinPath,
  STATE,
  pagesMutex,
} from '../types.ts';

export interface IommufdConfig {
  policy: Policy;
  /** -1: off; k >= 0: the k-th fail site reached in the run fails (iommufd_fail_nth). */
  failNth: number;
  allocFailRate: number;
  gupFailRate: number;
  /** pfn_batch array_size cap (the kernel's is bounded by TEMP_MEMORY_LIMIT). */
  batchEntries: number;
  /** storage-hint: storage_domain prefers a non-coherent domain. */
  preferNcStorage: boolean;
  /** seed: noncoherent_domain_cnt changed inside iopt_table_add/remove_domain (Jason's ask). */
  seedCntInside: boolean;
  /** Names the model may allocate pages under (their mutexes are declared). */
  maxPages: number;
  /** Actor ids, for the inspector's lock view. */
  actors: string[];
}

export interface IommufdData {
  iopt: Iopt[];
  areas: Record<string, Area>;
  pages: Record<string, Pages>;
  domains: Record<string, Domain>;
  objects: Record<string, KObject>;
  /** uptr page -> page frame (runs of consecutive pfns are physically contiguous). */
  userPfn: number[];
  pins: PinTableState;
  nextArea: number;
  nextPages: number;
  /** fail_nth: fail sites reached so far in the run. */
  failSites: number;
  journals: Record<string, Journal | null>;
  /** Userspace synchronisation flags of the workload (signal/wait ops): not kernel state. */
  userFlags: string[];
  /** Costs. */
  readbacks: number;
  pinsTaken: number;
}

/** A named guard of the stepping actor's machine (variants substitute them). */
export type GuardFn = (name: string, facts?: Record<string, unknown>) => boolean;

/** What a step runs with: its actor, its guards, its data draws, and the op it belongs to. */
export interface StepEnv {
  actor: string;
  g: GuardFn;
  data: DataPort;
  /** The ioctl the step belongs to and the cache tick it began at (nc-flush-before-map). */
  op: string;
  opStart: number;
  /** The step's footprint leaves the CPU cache out: touching it is a model error. */
  noCache?: boolean;
}

export class IommufdState implements SharedState {
  readonly name = STATE;
  s: IommufdData;
  private port: SharedPort | null = null;
  private pinTable: PinTable;
  /** The running step: its env and the locks it takes. */
  private env: StepEnv | null = null;
  private acquiring: Set<string> = new Set();

  constructor(
    readonly cfg: IommufdConfig,
    readonly locks: LockPort,
    private readonly cpuCache: CpuCache,
    userPfn: number[],
    ioasCount: number,
    disableLargePages: boolean,
  ) {
    const iopt: Iopt[] = [];
    for (let k = 0; k < ioasCount; k++) iopt.push({ id: k, domains: [], areas: [], disableLargePages, accessList: [], ncCnt: 0, hwptList: [] });
    this.s = { iopt, areas: {}, pages: {}, domains: {}, objects: {}, userPfn, pins: { pins: {}, dirty: [], lockedVm: {}, pinned: 0, unpinned: 0 }, nextArea: 0, nextPages: 0, failSites: 0, journals: {}, userFlags: [], readbacks: 0, pinsTaken: 0 };
    this.pinTable = new PinTable(this.s.pins);
  }

  /** The CPU cache, barred during a step whose footprint leaves it out. */
  get cache(): CpuCache {
    if (this.env?.noCache) throw new Error(`${this.env.actor}: a step declared iommufd-only (uses: 'state') touched the CPU cache`);
    return this.cpuCache;
  }

  connect(port: SharedPort): void {
    this.port = port;
  }

  // ---- the running step -----------------------------------------------------------------------

  begin(env: StepEnv, acquiring: readonly string[]): void {
    this.env = env;
    this.acquiring = new Set(acquiring);
  }

  end(): void {
    this.env = null;
    this.acquiring.clear();
  }

  get e(): StepEnv {
    if (!this.env) throw new Error('iommufd state touched outside a step');
    return this.env;
  }

  /** Assert the stepping thread holds `lock` (or takes it in this step), as lockdep_assert_held. */
  need(lock: string, what: string): void {
    const who = this.e.actor;
    if (this.acquiring.has(lock) || this.locks.heldBy(who).includes(lock)) return;
    throw new Error(`${who} writes ${what} without holding ${lock}`);
  }

  canTake(lock: string, mode: LockMode): boolean {
    return this.locks.canTake(lock, mode);
  }

  obs(what: string, fields: Record<string, unknown>): void {
    this.port?.observe({ what, ...fields });
  }

  warn(where: string, detail: string): void {
    this.obs('warn', { where, detail });
  }

  /**
   * A fail site (iommufd_should_fail() / an allocation that can fail): with failNth it fails
   * exactly the k-th site reached in the run; otherwise with the given rate. Drawn as a fault so
   * shrinking can switch it off. A sleeping allocation is also a `might-sleep` for lockdep.
   */
  fault(label: string, opts: { gup?: boolean; sleeps?: boolean } = {}): boolean {
    if (opts.sleeps !== false) this.obs('might-sleep', { path: label });
    const n = this.s.failSites++;
    const p = this.cfg.failNth >= 0 ? (n === this.cfg.failNth ? 1 : 0) : opts.gup ? this.cfg.gupFailRate : this.cfg.allocFailRate;
    const hit = this.e.data.fault(`fail:${label}`, p);
    if (hit) {
      const j = this.s.journals[this.e.actor];
      if (j && !j.fault) j.fault = label;
    }
    return hit;
  }

  // ---- ioctl journal (fail-atomic) ------------------------------------------------------------

  ioctlBegin(op: string): void {
    this.s.journals[this.e.actor] = { op, entries: {}, fault: null };
    this.obs('ioctl-begin', { op, tick: this.cache.advance() });
  }

  ioctlEnd(op: string, rc: number): void {
    const j = this.s.journals[this.e.actor];
    const residual = j ? Object.entries(j.entries).filter(([, n]) => n !== 0).map(([k, n]) => `${k}${n > 0 ? '+' : ''}${n}`).sort() : [];
    this.obs('ioctl-end', { op, rc, fault: j?.fault ?? null, residual });
    this.s.journals[this.e.actor] = null;
  }

  /** Run `fn` without journalling (a split changes no mapping, pin or IOVA reservation). */
  unjournalled<T>(fn: () => T): T {
    const was = this.paused;
    this.paused = true;
    try {
      return fn();
    } finally {
      this.paused = was;
    }
  }

  private paused = false;

  private jr(key: string, delta: number): void {
    if (this.paused) return;
    const j = this.env ? this.s.journals[this.env.actor] : null;
    if (!j) return;
    j.entries[key] = (j.entries[key] ?? 0) + delta;
    if (j.entries[key] === 0) delete j.entries[key];
  }

  // ---- heap -----------------------------------------------------------------------------------

  use(obj: string, by: string): void {
    this.obs('use', { obj, by });
  }

  // ---- lookups --------------------------------------------------------------------------------

  iopt(k: number): Iopt {
    const i = this.s.iopt[k];
    if (!i) throw new Error(`no ioas ${k}`);
    return i;
  }

  area(id: string): Area {
    const a = this.s.areas[id];
    if (!a) throw new Error(`no area ${id}`);
    return a;
  }

  pages(id: string): Pages {
    const p = this.s.pages[id];
    if (!p) throw new Error(`no pages ${id}`);
    return p;
  }

  domain(id: string): Domain {
    const d = this.s.domains[id];
    if (!d) throw new Error(`no domain ${id}`);
    return d;
  }

  /** The live areas of an IOAS in IOVA order (iopt_area_iter_first/next). */
  areasInOrder(k: number): Area[] {
    return this.iopt(k)
      .areas.map((id) => this.area(id))
      .sort((a, b) => a.iova - b.iova);
  }

  /** iopt_area_iter_first(iopt, start, last): the first area intersecting [start, last]. */
  areaIterFirst(k: number, start: number, last: number): Area | null {
    return this.areasInOrder(k).find((a) => a.last >= start && a.iova <= last) ?? null;
  }

  userPfn(uptr: number): number {
    const pfn = this.s.userPfn[uptr];
    if (pfn === undefined) throw new Error(`uptr page ${uptr} is outside the user memory`);
    return pfn;
  }

  /** The pfn of index `idx` of P, as the user's page table has it (what GUP returns). */
  pfnOf(p: Pages, idx: number): number {
    return this.userPfn(p.uptr + idx);
  }

  // ---- allocation of model objects ------------------------------------------------------------

  newPages(uptr: number, npages: number): Pages {
    if (this.s.nextPages >= this.cfg.maxPages) throw new Error(`model limit: more than ${this.cfg.maxPages} iopt_pages (declare more pages mutexes)`);
    const id = `P${this.s.nextPages++}`;
    const p: Pages = { id, uptr, npages, writable: true, kref: 1, npinned: 0, lastNpinned: 0, xarray: {}, accessItree: [], domainsItree: [], flag: false, sticky: false, ncMaps: {}, ncDirty: {}, freed: false };
    this.s.pages[id] = p;
    this.jr(`kref:${id}`, 1);
    this.obs('alloc', { obj: id, owner: this.e.actor, by: 'iopt_alloc_pages' });
    return p;
  }

  newArea(ioas: number, p: string, iova: number, start: number, n: number): Area {
    const id = `A${this.s.nextArea++}`;
    const a: Area = { id, ioas, iova, last: iova + n - 1, p, pages: null, start, lastIdx: start + n - 1, storage: null, storageNc: false, numAccesses: 0, preventAccess: false, freed: false };
    this.s.areas[id] = a;
    this.obs('alloc', { obj: id, owner: this.e.actor, by: 'iopt_area_alloc' });
    return a;
  }

  /** Insert into the IOAS's area_itree (iova_rwsem W). */
  insertArea(a: Area): void {
    this.need(`ioas${a.ioas}.iova`, `area_itree (insert ${a.id})`);
    this.iopt(a.ioas).areas.push(a.id);
    this.jr(`area:${a.id}`, 1);
  }

  /** Remove from the IOAS's area_itree (iova_rwsem W). */
  removeArea(a: Area): void {
    this.need(`ioas${a.ioas}.iova`, `area_itree (remove ${a.id})`);
    const io = this.iopt(a.ioas);
    const i = io.areas.indexOf(a.id);
    if (i >= 0) {
      io.areas.splice(i, 1);
      this.jr(`area:${a.id}`, -1);
    }
  }

  freeArea(a: Area, by: string): void {
    this.obs('free', { obj: a.id, by });
    a.freed = true;
  }

  getPages(p: Pages): void {
    this.use(p.id, 'kref_get');
    p.kref++;
    this.jr(`kref:${p.id}`, 1);
  }

  /** iopt_put_pages(): the last reference frees P (iopt_release_pages, with its WARN_ONs). */
  putPages(p: Pages): void {
    this.use(p.id, 'iopt_put_pages');
    p.kref--;
    this.jr(`kref:${p.id}`, -1);
    if (p.kref > 0) return;
    if (p.accessItree.length) this.warn('iopt_release_pages', `${p.id} freed with access_itree ${JSON.stringify(p.accessItree)}`);
    if (p.domainsItree.length) this.warn('iopt_release_pages', `${p.id} freed with domains_itree nodes of ${p.domainsItree.map((n) => n.area).join(',')}`);
    if (p.npinned) this.warn('iopt_release_pages', `${p.id} freed with npinned ${p.npinned}`);
    if (Object.keys(p.xarray).length) this.warn('iopt_release_pages', `${p.id} freed with pinned_pfns ${Object.keys(p.xarray).join(',')}`);
    this.obs('free', { obj: p.id, by: 'iopt_release_pages' });
    p.freed = true;
  }

  // ---- page pins ------------------------------------------------------------------------------

  /** pin_user_pages(): P pins index idx (pages->mutex). */
  pin(p: Pages, idx: number): number {
    this.need(pagesMutex(p.id), `${p.id} pins`);
    const pfn = this.pfnOf(p, idx);
    this.pinTable.pin(pfn, p.id);
    p.npinned++;
    this.s.pinsTaken++;
    this.jr(`pin:${pfn}`, 1);
    this.obs('pin', { pfn, pages: p.id, idx, countAfter: this.pinTable.count(pfn), tick: this.cache.advance() });
    return pfn;
  }

  /**
   * unpin_user_page_range_dirty_lock() of one page on P's behalf (pages->mutex). The H-unpin
   * flush has been decided and done by the caller. An unpin of a page P does not hold pinned is
   * reported (pin-balance) and not applied.
   */
  unpin(p: Pages, idx: number, pfn: number, path: UnpinPath): void {
    this.need(pagesMutex(p.id), `${p.id} unpins`);
    const error = this.pinTable.unpin(pfn, p.id);
    if (!error) {
      p.npinned--;
      this.jr(`pin:${pfn}`, -1);
    }
    const mappedBy: string[] = [];
    for (const d of Object.values(this.s.domains)) {
      if (d.freed) continue;
      for (const [iova, pte] of Object.entries(d.ptes)) if (pte.p === p.id && pte.idx === idx && pte.pfn === pfn) mappedBy.push(`${d.id}@${iova}`);
    }
    const accessed = p.accessItree.some((n) => n.start <= idx && idx <= n.last);
    this.obs('unpin', {
      pfn,
      pages: p.id,
      idx,
      path,
      countAfter: this.pinTable.count(pfn),
      error,
      line: this.cache.has(pfn) ? this.cache.line(pfn) : null,
      mappedBy,
      accessed,
      tick: this.cache.advance(),
    });
  }

  pinCount(pfn: number): number {
    return this.pinTable.count(pfn);
  }

  /** account_locked_vm() / do_update_pinned(). */
  accountPinned(p: Pages, delta: number): void {
    this.pinTable.account('user', delta);
    p.lastNpinned = p.npinned;
  }

  // ---- IOPTEs ---------------------------------------------------------------------------------

  /** iommu_map() of one page. -EEXIST when the IOVA is already mapped (the driver refuses). */
  mapPte(d: Domain, iova: number, pte: Pte): number {
    if (d.ptes[iova]) return -17;
    d.ptes[iova] = pte;
    this.jr(`pte:${d.id}@${iova}`, 1);
    const line = this.cache.has(pte.pfn) ? this.cache.line(pte.pfn) : null;
    this.obs('iommu-map', { dom: d.id, nc: d.nc, iova, pfn: pte.pfn, pages: pte.p, idx: pte.idx, op: this.e.op, opStart: this.e.opStart, line, tick: this.cache.advance() });
    return 0;
  }

  /** iommu_unmap() of one page: returns the PTE it removed (a WARN when there was none). */
  unmapPte(d: Domain, iova: number): Pte | null {
    const pte = d.ptes[iova];
    if (!pte) {
      this.warn('iommu_unmap_nofail', `${d.id} has no IOPTE at iova ${iova}`);
      return null;
    }
    delete d.ptes[iova];
    this.jr(`pte:${d.id}@${iova}`, -1);
    this.obs('iommu-unmap', { dom: d.id, nc: d.nc, iova, pfn: pte.pfn, pages: pte.p, idx: pte.idx, tick: this.cache.advance() });
    return pte;
  }

  /** iommu_iova_to_phys(): the pfn an IOPTE holds (0 when none, as a failed lookup). */
  iovaToPfn(d: Domain, iova: number): number {
    return d.ptes[iova]?.pfn ?? 0;
  }

  // ---- xarray and interval trees (pages->mutex) ------------------------------------------------

  xaStore(p: Pages, idx: number, pfn: number): void {
    this.need(pagesMutex(p.id), `${p.id}.pinned_pfns`);
    if (p.xarray[idx] !== undefined) this.warn('pages_to_xarray', `${p.id} index ${idx} already stored`);
    p.xarray[idx] = pfn;
    this.jr(`xa:${p.id}:${idx}`, 1);
  }

  xaErase(p: Pages, idx: number): number | undefined {
    this.need(pagesMutex(p.id), `${p.id}.pinned_pfns`);
    const pfn = p.xarray[idx];
    if (pfn !== undefined) {
      delete p.xarray[idx];
      this.jr(`xa:${p.id}:${idx}`, -1);
    }
    return pfn;
  }

  itreeInsert(p: Pages, a: Area): void {
    this.need(pagesMutex(p.id), `${p.id}.domains_itree`);
    p.domainsItree.push({ area: a.id, start: a.start, last: a.lastIdx });
    this.jr(`itree:${p.id}:${a.id}`, 1);
  }

  itreeRemove(p: Pages, a: Area): void {
    this.need(pagesMutex(p.id), `${p.id}.domains_itree`);
    const i = p.domainsItree.findIndex((n) => n.area === a.id);
    if (i < 0) {
      // rb_erase() of a node that is not in the tree: the tree is corrupt from here on.
      this.warn('interval_tree_remove', `${a.id}.pages_node is not in ${p.id}.domains_itree`);
      return;
    }
    p.domainsItree.splice(i, 1);
    this.jr(`itree:${p.id}:${a.id}`, -1);
  }

  accessInsert(p: Pages, start: number, last: number): void {
    this.need(pagesMutex(p.id), `${p.id}.access_itree`);
    p.accessItree.push({ start, last, users: 1 });
    this.jr(`access:${p.id}:${start}-${last}`, 1);
  }

  accessRemove(p: Pages, start: number, last: number): void {
    this.need(pagesMutex(p.id), `${p.id}.access_itree`);
    const i = p.accessItree.findIndex((n) => n.start === start && n.last === last && n.users === 0);
    if (i >= 0) p.accessItree.splice(i, 1);
    this.jr(`access:${p.id}:${start}-${last}`, -1);
  }

  setStorage(a: Area, d: string | null, why: string): void {
    this.need(pagesMutex(a.p), `${a.id}.storage_domain (${why})`);
    this.jr(`storage:${a.id}:${a.storage}`, -1);
    a.storage = d;
    this.jr(`storage:${a.id}:${d}`, 1);
  }

  /** Domains in an IOAS (iopt->domains): domains_rwsem W. */
  domainsStore(k: number, list: string[]): void {
    this.need(`ioas${k}.domains`, 'iopt->domains');
    const io = this.iopt(k);
    for (const d of io.domains) this.jr(`domain:${k}:${d}`, -1);
    io.domains = list;
    for (const d of list) this.jr(`domain:${k}:${d}`, 1);
  }

  journal(key: string, delta: number): void {
    this.jr(key, delta);
  }

  // ---- checks ---------------------------------------------------------------------------------

  /** What is wrong with P's domains_itree against its areas (the itree-consistent monitor). */
  itreeProblems(pid: string): string[] {
    const p = this.s.pages[pid];
    if (!p) return [];
    const out: string[] = [];
    for (const n of p.domainsItree) {
      const a = this.s.areas[n.area];
      if (!a || a.freed) out.push(`${pid}.domains_itree holds the pages_node of ${n.area}, which is freed`);
      else if (a.p !== pid) out.push(`${pid}.domains_itree holds ${n.area}, an area of ${a.p}`);
      else if (n.start !== a.start || n.last !== a.lastIdx) out.push(`${pid}.domains_itree node of ${n.area} is [${n.start},${n.last}] but the area covers [${a.start},${a.lastIdx}]`);
    }
    for (const a of Object.values(this.s.areas)) {
      if (a.freed || a.p !== pid) continue;
      const inTree = p.domainsItree.filter((n) => n.area === a.id).length;
      if (inTree > 1) out.push(`${a.id} is in ${pid}.domains_itree ${inTree} times`);
      if ((inTree > 0) !== (a.storage !== null)) out.push(`${a.id} has storage_domain ${a.storage ?? 'NULL'} but is ${inTree ? '' : 'not '}in ${pid}.domains_itree`);
    }
    return out;
  }

  itreeCheck(pid: string): void {
    this.obs('itree', { pages: pid, problems: this.itreeProblems(pid) });
  }

  /**
   * The selftest's check_refs at quiescence: every page frame's pin count equals the number of
   * iopt_pages holding it (in the xarray, or under a filled area's pages_node), npinned equals
   * last_npinned equals the indexes held, and a freed P holds nothing.
   */
  checkRefs(): string[] {
    const out: string[] = [];
    const expected = new Map<number, string[]>();
    for (const p of Object.values(this.s.pages)) {
      const held = new Set<number>();
      if (!p.freed) {
        for (const idx of Object.keys(p.xarray)) held.add(Number(idx));
        for (const n of p.domainsItree) for (let i = n.start; i <= n.last; i++) held.add(i);
      } else if (p.npinned || Object.keys(p.xarray).length || p.domainsItree.length || p.accessItree.length) {
        out.push(`${p.id} was freed holding npinned ${p.npinned}, xarray [${Object.keys(p.xarray).join(',')}], ${p.domainsItree.length} itree nodes`);
      }
      for (const idx of held) {
        const pfn = this.pfnOf(p, idx);
        expected.set(pfn, [...(expected.get(pfn) ?? []), `${p.id}[${idx}]`]);
      }
      if (p.npinned !== held.size || p.lastNpinned !== p.npinned) out.push(`${p.id}: npinned ${p.npinned}, last_npinned ${p.lastNpinned}, indexes held ${held.size}`);
    }
    const pfns = new Set<number>([...expected.keys(), ...Object.keys(this.s.pins.pins).map(Number)]);
    for (const pfn of [...pfns].sort((a, b) => a - b)) {
      const want = expected.get(pfn) ?? [];
      const have = this.pinTable.count(pfn);
      if (want.length !== have) out.push(`pfn ${pfn}: pin count ${have}, held by ${want.length} (${want.join(', ') || 'nobody'}); pins by ${this.pinTable.holders(pfn).join(', ') || 'nobody'}`);
    }
    return out;
  }

  // ---- SharedState ----------------------------------------------------------------------------

  snapshot(): IommufdData {
    return structuredClone(this.s);
  }

  restore(s: unknown): void {
    this.s = structuredClone(s as IommufdData);
    this.pinTable = new PinTable(this.s.pins);
  }

  canonical(): unknown {
    const { nextArea: _a, nextPages: _p, failSites: _f, readbacks: _r, pinsTaken: _t, pins, ...rest } = this.s;
    return { ...rest, pins: this.pinTable.canonical() };
  }

  /** The inspector's view: areas as IOVA bars over P indexes, pages, domains, page frames, locks. */
  view(): unknown {
    const held = (lock: string) => {
      const who = this.cfg.actors.filter((a) => this.locks.heldBy(a).includes(lock));
      return who.length ? who.join(',') : undefined;
    };
    const ioas: Record<string, unknown> = {};
    for (const io of this.s.iopt) {
      ioas[io.id] = {
        domains: io.domains,
        hwpts: io.hwptList,
        disableLargePages: io.disableLargePages,
        ...(this.cfg.policy === 'seed' ? { noncoherentCnt: io.ncCnt } : {}),
        accesses: io.accessList,
        locks: { mutex: held(`ioas${io.id}.mutex`), domains_rwsem: held(`ioas${io.id}.domains`), iova_rwsem: held(`ioas${io.id}.iova`) },
        areas: this.areasInOrder(io.id).map((a) => ({
          id: a.id,
          iova: [a.iova, a.last],
          pages: a.pages ?? `(${a.p}, busy)`,
          idx: [a.start, a.lastIdx],
          storage: a.storage,
          inItree: this.s.pages[a.p]?.domainsItree.some((n) => n.area === a.id) ?? false,
          accesses: a.numAccesses,
          ...(a.preventAccess ? { preventAccess: true } : {}),
        })),
      };
    }
    const pages: Record<string, unknown> = {};
    for (const p of Object.values(this.s.pages)) {
      if (p.freed) continue;
      pages[p.id] = {
        uptr: [p.uptr, p.uptr + p.npages - 1],
        kref: p.kref,
        npinned: p.npinned,
        mutex: held(pagesMutex(p.id)),
        xarray: p.xarray,
        domainsItree: p.domainsItree.map((n) => `${n.area}[${n.start},${n.last}]`),
        access: p.accessItree.map((n) => `[${n.start},${n.last}]x${n.users}`),
        ...(this.cfg.policy === 'seed' ? { flag: p.flag } : {}),
        ...(this.cfg.policy === 'per-fill' || this.cfg.policy === 'sticky-lazy' ? { sticky: p.sticky } : {}),
        ...(this.cfg.policy === 'per-span' ? { ncMaps: p.ncMaps } : {}),
      };
    }
    const domains: Record<string, unknown> = {};
    for (const d of Object.values(this.s.domains)) {
      if (d.freed) continue;
      domains[d.id] = { nc: d.nc, dev: d.dev, ptes: Object.fromEntries(Object.entries(d.ptes).map(([i, p]) => [i, p.pfn])) };
    }
    const phys: Record<string, unknown> = {};
    for (const pfn of [...new Set(this.s.userPfn)].sort((a, b) => a - b)) {
      const line = this.cache.line(pfn);
      phys[pfn] = { pin: this.pinTable.count(pfn), mem: this.cache.mem(pfn), line, state: this.cache.stateOf(pfn) };
    }
    return { policy: this.cfg.policy, ioas, pages, domains, phys };
  }
}
