/**
 * The io-pgtable-arm page table (drivers/iommu/io-pgtable-arm.c, K) as shared state: tables by id,
 * each a page of `fanout` descriptors. T0 is the pgd. Table ids come from allocation order, so
 * runs are deterministic; a freed table keeps its id and its last contents (memory is not reused,
 * so a write into it is visible as a use after free, not as a corrupted live table).
 *
 * Locking (io-pgtable has none): descriptors are written by map fill, unmap unfill, the split and
 * the dirty walker with no lock; the callers must touch disjoint ranges (the split-serialized
 * monitor asserts that for the split). Two exceptions are atomic: a table goes into a slot by
 * cmpxchg (arm_lpae_install_table), and AP_RDONLY is set by an atomic set_bit
 * (iopte_set_writeable_clean). The SMMU's HTTU dirty update is an atomic RMW by hardware.
 *
 * Ownership: a table belongs to the slot it is installed in (`linked`); the allocating path owns it
 * until then, and frees it when its install loses (map) - the seed's split ignores a lost install
 * and leaks it. Unmap frees a table whose whole span it removes (after flush_walk).
 */
import type { SharedState } from '../../../core/model/shared.ts';
import { type Geometry, INV, type Pte, type TableObj, entrySize, lvlIdx, pteText } from '../types.ts';

export interface PgTableData {
  tables: Record<string, TableObj>;
  nextId: number;
}

export const ROOT = 'T0';

export class PgTableState implements SharedState {
  readonly name = 'dirty.pgtable';
  d: PgTableData;

  constructor(readonly g: Geometry) {
    this.d = { tables: { [ROOT]: { lvl: 1, base: 0, entries: new Array(g.fanout).fill(INV), linked: true, freed: false, by: 'alloc_pgtable' } }, nextId: 1 };
  }

  table(id: string): TableObj {
    const t = this.d.tables[id];
    if (!t) throw new Error(`no page table ${id}`);
    return t;
  }

  read(id: string, idx: number): Pte {
    return this.table(id).entries[idx];
  }

  /** A plain store of a whole descriptor (__arm_lpae_set_pte / WRITE_ONCE). */
  write(id: string, idx: number, p: Pte): void {
    this.table(id).entries[idx] = p;
  }

  /** __arm_lpae_alloc_pages: a zeroed table for level `lvl` whose entry 0 maps `base`; not linked yet. */
  alloc(lvl: number, base: number, by: string, ignored?: { ign7: boolean; ign51: boolean }): string {
    const id = `T${this.d.nextId++}`;
    this.d.tables[id] = { lvl, base, entries: new Array(this.g.fanout).fill(INV), linked: false, freed: false, by };
    if (ignored) this.d.tables[id].ignored = ignored;
    return id;
  }

  /** The IGNORED bits a table descriptor pointing at `id` carries (tableIgnoredBits=random draws them at allocation). */
  ignoredBits(id: string): { ign7: boolean; ign51: boolean } {
    return this.table(id).ignored ?? { ign7: false, ign51: false };
  }

  /**
   * arm_lpae_install_table(): cmpxchg64_relaxed(ptep, curr, new) with new = a table descriptor for
   * `next`. Returns the old value and whether the swap happened.
   */
  install(id: string, idx: number, curr: Pte, next: string): { old: Pte; ok: boolean } {
    const old = this.read(id, idx);
    const ok = sameDescriptor(old, curr);
    if (ok) {
      this.write(id, idx, { t: 'table', next, ...this.ignoredBits(next) });
      this.table(next).linked = true;
    }
    return { old, ok };
  }

  /** __arm_lpae_free_pgtable: free a table and every table below it. Returns the freed ids. */
  free(id: string): string[] {
    const t = this.table(id);
    const out = [id];
    for (const e of t.entries) if (e.t === 'table' && t.lvl < this.g.levels) out.push(...this.free(e.next));
    t.freed = true;
    t.linked = false;
    return out;
  }

  /** The pages of writable-dirty leaves under a descriptor (for an unmap that drops them). */
  dirtyPagesUnder(p: Pte, start: number, lvl: number): number[] {
    if (p.t === 'leaf') return p.dbm && !p.ro ? range(start, start + entrySize(this.g, lvl)) : [];
    if (p.t !== 'table') return [];
    const t = this.table(p.next);
    const sz = entrySize(this.g, lvl + 1);
    return t.entries.flatMap((e, i) => this.dirtyPagesUnder(e, start + i * sz, lvl + 1));
  }

  /** Walk from the root to the descriptor mapping `page` (what a translation sees): the leaf or the first non-table. */
  lookup(page: number): { table: string; idx: number; lvl: number; pte: Pte } {
    let id = ROOT;
    for (let lvl = 1; ; lvl++) {
      const idx = lvlIdx(this.g, page, lvl);
      const pte = this.read(id, idx);
      if (pte.t !== 'table' || lvl === this.g.levels) return { table: id, idx, lvl, pte };
      id = pte.next;
    }
  }

  snapshot(): unknown {
    return structuredClone(this.d);
  }

  restore(s: unknown): void {
    this.d = structuredClone(s as PgTableData);
  }

  /** The tables; the allocation counter only names the next table. */
  canonical(): unknown {
    return this.d.tables;
  }

  /** The live tables from the root, entry by entry ("B pa16 D", "T:T3", "-"), and the freed ones by id. */
  view(): unknown {
    const live: Record<string, { lvl: number; base: number; e: string[] }> = {};
    const visit = (id: string) => {
      const t = this.table(id);
      live[id] = { lvl: t.lvl, base: t.base, e: t.entries.map((p) => pteText(p, t.lvl, this.g.levels)) };
      for (const p of t.entries) if (p.t === 'table' && !this.table(p.next).freed && !live[p.next]) visit(p.next);
    };
    visit(ROOT);
    const other = Object.keys(this.d.tables).filter((id) => !live[id]);
    return { tables: live, unlinked: other.map((id) => `${id}${this.d.tables[id].freed ? ' (freed)' : ''}`) };
  }
}

export function sameDescriptor(a: Pte, b: Pte): boolean {
  if (a.t !== b.t) return false;
  if (a.t === 'inv') return true;
  if (a.t === 'leaf' && b.t === 'leaf') return a.pa === b.pa && a.dbm === b.dbm && a.ro === b.ro && a.nT === b.nT;
  if (a.t === 'table' && b.t === 'table') return a.next === b.next && a.ign7 === b.ign7 && a.ign51 === b.ign51;
  return false;
}

export function range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = a; i < b; i++) out.push(i);
  return out;
}
