/**
 * TCE tables (struct iommu_table, arch/powerpc/include/asm/iommu.h) and the PE's DMA windows.
 *
 * Locking, as in arch/powerpc/platforms/powernv/pci-ioda-tce.c (6.17):
 *  - geometry (offset, size, levels, levelSize, userspace): immutable after create;
 *  - leaf TCEs: no lock, one atomic xchg per entry (pnv_tce_xchg) or a plain store (pnv_tce_build
 *    for the DMA-API, which owns its it_map range);
 *  - indirect level slots: installed by cmpxchg(&tmp[n], 0, new) in pnv_tce() since 56090a3902c8;
 *    a slot never goes back to 0 while the table lives, so a walk that found a level can keep it;
 *  - it_userspace mirror leaves (`pua`): plain loads and stores, no lock (VFIO and KVM);
 *  - `freed`: the table's kref (iommu_tce_table_get/put): freed by the container under
 *    container->lock (REMOVE, release) or by the platform (pnv_ioda2_take_ownership).
 *  - `windows`: the PE's TVEs, set by set_window/unset_window under container->lock (VFIO) or at
 *    ownership changes; read by the hardware (the device's table walk).
 */
import { Facet } from './facet.ts';
import type { LevelPage, MirrorSlot, Slot, TableData, Tce } from './types.ts';

export interface TablesData {
  tables: Record<string, TableData>;
  levels: Record<string, LevelPage>;
  /** The PE's two DMA windows (TVE 0 = 32-bit default window, 1 = DDW): a table id or null. */
  windows: (string | null)[];
  nextLevel: number;
}

/** Where a walk ended: at the leaf slot, or at an empty indirect slot (a missing level). */
export type Walk = { leaf: true; holder: string; n: number } | { leaf: false; holder: string; n: number; depth: number };

export class TablesState extends Facet<TablesData> {
  readonly name = 'tce.tables';

  constructor() {
    super({ tables: {}, levels: {}, windows: [null, null], nextLevel: 0 });
  }

  table(id: string): TableData {
    const t = this.d.tables[id];
    if (!t) throw new Error(`no TCE table ${id}`);
    return t;
  }

  /** The table whose window holds bus page `entry`, as the hardware sees it (TVEs). */
  windowTable(entry: number): TableData | null {
    for (const id of this.d.windows) {
      if (!id) continue;
      const t = this.d.tables[id];
      if (t && !t.freed && entry >= t.offset && entry < t.offset + t.size) return t;
    }
    return null;
  }

  create(t: Omit<TableData, 'root' | 'mroot' | 'freed' | 'oob'>): TableData {
    const rootSlots = t.levels === 1 ? t.size : Math.ceil(t.size / t.levelSize ** (t.levels - 1));
    const table: TableData = { ...t, root: Array(rootSlots).fill(null), mroot: t.userspace ? Array(rootSlots).fill(null) : [], freed: false, oob: {} };
    this.d.tables[t.id] = table;
    this.emit('alloc', { obj: `table:${t.id}`, by: 'create_table' });
    return table;
  }

  /** pnv_tce(): walk to index `idx` of the TCE table (or of its it_userspace mirror). */
  walk(tid: string, idx: number, mirror = false): Walk {
    const t = this.table(tid);
    const s = t.levelSize;
    if (t.levels === 1) return { leaf: true, holder: 'root', n: idx };
    let holder = 'root';
    let n = Math.floor(idx / s ** (t.levels - 1));
    for (let d = t.levels - 2; d >= 0; d--) {
      const slots = this.slots(t, holder, mirror);
      const child = slots[n] as string | null | undefined;
      if (child === null || child === undefined) return { leaf: false, holder, n, depth: d };
      holder = child;
      n = Math.floor(idx / s ** d) % s;
    }
    return { leaf: true, holder, n };
  }

  /** pnv_tce_get(): the TCE at `idx`, or null (an absent level reads as an empty entry). */
  read(tid: string, idx: number): Tce | null {
    const t = this.table(tid);
    if (idx < 0 || idx >= t.size) return t.oob[idx] ?? null;
    const w = this.walk(tid, idx);
    if (!w.leaf) return null;
    return (this.slots(t, w.holder, false)[w.n] as Tce | null) ?? null;
  }

  /**
   * pnv_tce_xchg(): exchange the TCE at `idx`. Clearing (tce null) an entry whose level is absent
   * returns null without allocating; setting one whose level is absent returns the missing slot
   * (the caller allocates a level and installs it, then retries).
   */
  xchg(tid: string, idx: number, tce: Tce | null, by: string): { ok: true; old: Tce | null } | { ok: false; walk: Walk & { leaf: false } } {
    const t = this.table(tid);
    if (idx < 0 || idx >= t.size) {
      // Past the end of the table: the kernel's index lands outside it (an OOB write for a
      // one-level table, a walk through garbage otherwise). Recorded, never read by the HW walk.
      const old = t.oob[idx] ?? null;
      if (tce) t.oob[idx] = tce;
      else delete t.oob[idx];
      this.emit('tce-set', { table: tid, entry: t.offset + idx, index: idx, old, new: tce, by, inWindow: false });
      return { ok: true, old };
    }
    const w = this.walk(tid, idx);
    if (!w.leaf) {
      if (tce === null) return { ok: true, old: null };
      return { ok: false, walk: w };
    }
    const slots = this.slots(t, w.holder, false);
    const old = (slots[w.n] as Tce | null) ?? null;
    slots[w.n] = tce;
    if (w.holder !== 'root') this.emit('use', { obj: `level:${w.holder}`, by });
    if (old || tce) this.emit('tce-set', { table: tid, entry: t.offset + idx, index: idx, old, new: tce, by, inWindow: true });
    return { ok: true, old };
  }

  /** pnv_alloc_tce_level(): a zeroed level page, not yet installed. */
  allocLevel(tid: string, mirror: boolean, depth: number): string {
    const id = `L${this.d.nextLevel++}`;
    this.d.levels[id] = { table: tid, mirror, depth, slots: Array(this.table(tid).levelSize).fill(null), freed: false, installed: false };
    this.emit('level-alloc', { table: tid, mirror, level: id });
    return id;
  }

  /**
   * Install level `level` into slot n of `holder`. cmpxchg(&tmp[n], 0, new): the loser frees its
   * page and uses the winner's. 'store' is the code before 56090a3902c8: it overwrites.
   */
  install(tid: string, mirror: boolean, holder: string, n: number, level: string, mode: 'cmpxchg' | 'store'): string {
    const t = this.table(tid);
    const slots = this.slots(t, holder, mirror);
    const prev = (slots[n] as string | null) ?? null;
    const slot = `${tid}${mirror ? '.ua' : ''}:${holder}[${n}]`;
    if (mode === 'cmpxchg' && prev !== null) {
      this.emit('level-install', { table: tid, mirror, slot, level, prev, mode, won: false });
      this.freeLevel(level, false);
      return prev;
    }
    slots[n] = level;
    this.d.levels[level].installed = true;
    this.emit('level-install', { table: tid, mirror, slot, level, prev, mode, won: true });
    return level;
  }

  /** The it_userspace entry of `idx`: the user address, null (0), or undefined when its level is absent. */
  mirrorRead(tid: string, idx: number): number | null | undefined {
    const t = this.table(tid);
    if (!t.userspace) return undefined;
    if (idx < 0 || idx >= t.size) return null;
    const w = this.walk(tid, idx, true);
    if (!w.leaf) return undefined;
    return (this.slots(t, w.holder, true)[w.n] as number | null) ?? null;
  }

  /** *pua = ua (the level must be present: the caller walked with alloc first). */
  mirrorWrite(tid: string, idx: number, ua: number | null): void {
    const t = this.table(tid);
    if (idx < 0 || idx >= t.size) return;
    const w = this.walk(tid, idx, true);
    if (!w.leaf) throw new Error(`mirror write to ${tid}[${idx}] with its level absent`);
    this.slots(t, w.holder, true)[w.n] = ua;
  }

  setWindow(num: number, tid: string | null): void {
    this.d.windows[num] = tid;
  }

  /** iommu_tce_table_put() → it_ops->free: the table and every level reachable from its roots. */
  free(tid: string, by: string): void {
    const t = this.table(tid);
    if (t.freed) {
      this.emit('free', { obj: `table:${tid}`, by });
      return;
    }
    t.freed = true;
    for (const roots of [t.root, t.mroot]) {
      const walk = (slots: (Slot | MirrorSlot)[], depth: number) => {
        for (const s of slots) {
          if (typeof s !== 'string') continue;
          const l = this.d.levels[s];
          if (depth > 0) walk(l.slots, depth - 1);
          this.freeLevel(s, true);
        }
      };
      if (t.levels > 1) walk(roots as (Slot | MirrorSlot)[], t.levels - 2);
    }
    this.emit('free', { obj: `table:${tid}`, by });
  }

  /** Level pages allocated for `tid` that are neither freed nor reachable from its roots (leaks). */
  orphanLevels(tid?: string): string[] {
    const reach = new Set<string>();
    for (const t of Object.values(this.d.tables)) {
      if (tid && t.id !== tid) continue;
      const visit = (slots: (Slot | MirrorSlot)[]) => {
        for (const s of slots) {
          if (typeof s !== 'string' || reach.has(s)) continue;
          reach.add(s);
          visit(this.d.levels[s].slots);
        }
      };
      if (t.levels > 1) {
        visit(t.root);
        visit(t.mroot);
      }
    }
    return Object.entries(this.d.levels)
      .filter(([id, l]) => (!tid || l.table === tid) && !l.freed && !reach.has(id))
      .map(([id]) => id)
      .sort();
  }

  /** Valid TCEs of a table, as [index, tce] (the monitors' and inspector's view). */
  entries(tid: string): [number, Tce][] {
    const t = this.table(tid);
    const out: [number, Tce][] = [];
    for (let i = 0; i < t.size; i++) {
      const e = this.read(tid, i);
      if (e) out.push([i, e]);
    }
    return out;
  }

  private freeLevel(id: string, reachable: boolean): void {
    const l = this.d.levels[id];
    this.emit('free', { obj: `level:${id}`, by: 'pnv_pci_ioda2_table_do_free_pages' });
    l.freed = true;
    this.emit('level-free', { table: l.table, mirror: l.mirror, level: id, reachable });
  }

  private slots(t: TableData, holder: string, mirror: boolean): (Slot | MirrorSlot)[] {
    if (holder === 'root') return mirror ? t.mroot : t.root;
    return this.d.levels[holder].slots;
  }

  override canonical(): unknown {
    return { tables: this.d.tables, levels: this.d.levels, windows: this.d.windows };
  }

  override view(): unknown {
    const tables: Record<string, unknown> = {};
    for (const t of Object.values(this.d.tables)) {
      if (t.freed) continue;
      tables[t.id] = {
        window: [t.offset, t.offset + t.size],
        levels: t.levels,
        entries: Object.fromEntries(this.entries(t.id).map(([i, e]) => [t.offset + i, `${e.pfn}:${e.perm}${e.region ? `@${e.region}` : ''}`])),
        ...(Object.keys(t.oob).length ? { outOfWindow: Object.keys(t.oob).map((i) => t.offset + Number(i)) } : {}),
      };
    }
    return { windows: this.d.windows, tables, orphanLevels: this.orphanLevels() };
  }
}
