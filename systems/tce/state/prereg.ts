/**
 * Preregistered memory (arch/powerpc/mm/book3s64/iommu_api.c, 6.17): the mm's
 * iommu_group_mem_list of regions (struct mm_iommu_table_group_mem_t), and the RCU that frees them.
 *
 * Locking (iommu_api.c):
 *  - the list (`list`, `listed`) and `used`: mem_list_mutex (mm_iommu_get, mm_iommu_put,
 *    mm_iommu_do_alloc's overlap check and list_add_rcu);
 *  - readers (mm_iommu_lookup, mm_iommu_is_devmem) walk the list under rcu_read_lock, lock-free;
 *  - `mapped`: atomic64 (mm_iommu_mapped_inc = inc_not_zero, mapped_dec = add_unless(-1, 1),
 *    mm_iommu_put's cmpxchg(1 → 0));
 *  - `freed`: by the RCU callback mm_iommu_free after list_del_rcu + call_rcu (a grace period).
 * Ownership: `used` counts the containers' tcemem references plus in-flight mm_iommu_get()s; the
 * list holds the region while used > 0; the RCU callback owns it after list_del_rcu.
 *
 * RCU (PREEMPT_RCU semantics): `readers[t]` is thread t's read-side nesting; a callback queued by
 * call_rcu waits for the readers that were inside a section at that moment (a grace period).
 */
import { Facet } from './facet.ts';
import type { Region } from './types.ts';

export interface RcuCallback {
  id: number;
  region: string;
  /** Threads whose pre-existing read-side sections the grace period waits for. */
  wait: string[];
}

export interface PreregData {
  regions: Record<string, Region>;
  /** iommu_group_mem_list, head first (list_add_rcu adds at the head). */
  list: string[];
  next: number;
  readers: Record<string, number>;
  callbacks: RcuCallback[];
  nextCb: number;
}

export class PreregState extends Facet<PreregData> {
  readonly name = 'tce.prereg';

  constructor() {
    super({ regions: {}, list: [], next: 0, readers: {}, callbacks: [], nextCb: 0 });
  }

  region(id: string): Region {
    const r = this.d.regions[id];
    if (!r) throw new Error(`no region ${id}`);
    return r;
  }

  /** mm_iommu_get(): exact (ua, entries) match on the list, used++ (under mem_list_mutex). */
  get(ua: number, entries: number, by: string): string | null {
    for (const id of this.d.list) {
      const r = this.d.regions[id];
      if (r.ua === ua && r.entries === entries) {
        r.used++;
        this.emit('region', { region: id, op: 'get', used: r.used, by });
        return id;
      }
    }
    return null;
  }

  /** mm_iommu_lookup(mm, ua, size): the listed region containing [ua, ua + 1), under RCU. */
  lookup(ua: number): string | null {
    for (const id of this.d.list) {
      const r = this.d.regions[id];
      if (r.ua <= ua && ua + 1 <= r.ua + r.entries) return id;
    }
    return null;
  }

  /** mm_iommu_ua_to_hpa(mem, ua): the frame behind `ua` (reads hpas[]). */
  hpa(id: string, ua: number, by: string): number {
    const r = this.region(id);
    this.emit('use', { obj: `region:${id}`, by });
    return r.pfns[ua - r.ua];
  }

  /** Any listed region overlapping [ua, ua + entries) (mm_iommu_do_alloc's check, -EINVAL). */
  overlaps(ua: number, entries: number): string | null {
    for (const id of this.d.list) {
      const r = this.d.regions[id];
      if (r.ua < ua + entries && ua < r.ua + r.entries) return id;
    }
    return null;
  }

  /** kzalloc(mem): a region not yet on the list. */
  create(ua: number, entries: number, devmem: boolean): string {
    const id = `R${this.d.next++}`;
    this.d.regions[id] = { id, ua, entries, used: 0, mapped: 0, pfns: [], hpas: 'page', devmem, listed: false, freed: false };
    this.emit('alloc', { obj: `region:${id}`, by: 'mm_iommu_do_alloc' });
    return id;
  }

  /** good_exit + list_add_rcu: mapped = 1, used = 1, on the list. */
  publish(id: string, by: string): void {
    const r = this.region(id);
    r.mapped = 1;
    r.used = 1;
    r.listed = true;
    this.d.list.unshift(id);
    this.emit('region', { region: id, op: 'listed', used: 1, by });
    this.emit('mapped', { region: id, op: 'init', mapped: 1, by });
  }

  /** free_exit on a region never listed: vfree + kfree. */
  discard(id: string, by: string): void {
    const r = this.region(id);
    r.freed = true;
    this.emit('free', { obj: `region:${id}`, by });
  }

  /**
   * mm_iommu_put() (under mem_list_mutex): used--; at 0, cmpxchg(mapped, 1, 0) or -EBUSY (used
   * restored); on success list_del_rcu + call_rcu(mm_iommu_free). Returns the result and the
   * entries to unaccount (done by the caller after the mutex).
   */
  put(id: string, by: string): { ret: number; unaccount: number } {
    const r = this.region(id);
    this.emit('use', { obj: `region:${id}`, by });
    if (r.used === 0) return { ret: -2 /* -ENOENT */, unaccount: 0 };
    r.used--;
    this.emit('region', { region: id, op: 'put', used: r.used, by });
    if (r.used > 0) return { ret: 0, unaccount: 0 };
    if (r.mapped !== 1) {
      r.used++;
      this.emit('mapped', { region: id, op: 'release-busy', mapped: r.mapped, by });
      this.emit('region', { region: id, op: 'get', used: r.used, by });
      return { ret: -16 /* -EBUSY */, unaccount: 0 };
    }
    r.mapped = 0;
    this.emit('mapped', { region: id, op: 'release', mapped: 0, by });
    r.listed = false;
    this.d.list = this.d.list.filter((x) => x !== id);
    this.emit('region', { region: id, op: 'unlisted', used: 0, by });
    const wait = Object.entries(this.d.readers)
      .filter(([, n]) => n > 0)
      .map(([t]) => t)
      .sort();
    this.d.callbacks.push({ id: this.d.nextCb++, region: id, wait });
    return { ret: 0, unaccount: r.devmem ? 0 : r.entries };
  }

  /** mm_iommu_mapped_inc(): atomic64_inc_not_zero, else -ENXIO. */
  mappedInc(id: string, by: string): boolean {
    const r = this.region(id);
    this.emit('use', { obj: `region:${id}`, by });
    if (r.mapped === 0) {
      this.emit('mapped', { region: id, op: 'inc-fail', mapped: 0, by });
      return false;
    }
    r.mapped++;
    this.emit('mapped', { region: id, op: 'inc', mapped: r.mapped, by });
    return true;
  }

  /** mm_iommu_mapped_dec(): atomic64_add_unless(&mapped, -1, 1). */
  mappedDec(id: string, by: string): void {
    const r = this.region(id);
    this.emit('use', { obj: `region:${id}`, by });
    if (r.mapped !== 1) r.mapped--;
    this.emit('mapped', { region: id, op: 'dec', mapped: r.mapped, by });
  }

  rcuLock(thread: string): number {
    const n = (this.d.readers[thread] ?? 0) + 1;
    this.d.readers[thread] = n;
    this.emit('rcu-lock', { thread, depth: n });
    return n;
  }

  rcuUnlock(thread: string): number {
    const n = (this.d.readers[thread] ?? 0) - 1;
    if (n <= 0) {
      delete this.d.readers[thread];
      for (const cb of this.d.callbacks) cb.wait = cb.wait.filter((t) => t !== thread);
    } else this.d.readers[thread] = n;
    this.emit('rcu-unlock', { thread, depth: Math.max(0, n) });
    return Math.max(0, n);
  }

  /** The first callback whose grace period has elapsed. */
  readyCallback(): RcuCallback | null {
    return this.d.callbacks.find((cb) => cb.wait.length === 0) ?? null;
  }

  /** Run callback `id` (mm_iommu_free): remove it and mark the region freed; the caller unpins. */
  runCallback(id: number, by: string): Region {
    const cb = this.d.callbacks.find((c) => c.id === id);
    if (!cb) throw new Error(`no RCU callback ${id}`);
    this.d.callbacks = this.d.callbacks.filter((c) => c.id !== id);
    const r = this.region(cb.region);
    this.emit('free', { obj: `region:${r.id}`, by });
    r.freed = true;
    this.emit('region', { region: r.id, op: 'freed', used: r.used, by });
    return r;
  }

  override canonical(): unknown {
    return { regions: this.d.regions, list: this.d.list, readers: this.d.readers, callbacks: this.d.callbacks.map((c) => [c.region, c.wait]) };
  }

  override view(): unknown {
    return {
      regions: this.d.list.map((id) => {
        const r = this.d.regions[id];
        return { id, ua: [r.ua, r.ua + r.entries], used: r.used, mapped: r.mapped, ...(r.devmem ? { devmem: true } : {}), ...(r.hpas === 'phys' ? { hpas: 'phys' } : {}) };
      }),
      rcu: { readers: this.d.readers, callbacks: this.d.callbacks.map((c) => ({ region: c.region, waitFor: c.wait })) },
    };
  }
}
