/**
 * The DMA-API allocator of the kernel's default table (arch/powerpc/kernel/iommu.c, 6.17):
 * it_map, the small pools and the large pool, the host driver's mappings, and who owns the table.
 *
 * Locking (iommu.c): the bits of a pool's slice of it_map under that pool's spinlock
 * (iommu_range_alloc takes pools[hash] irqsave, hops to the next pool, then the large pool;
 * __iommu_free clears under get_pool(entry)'s lock). Ownership changes (iommu_take_ownership /
 * iommu_release_ownership, pseries/iommu.c since 2024, generic before) take large_pool.lock
 * irqsave and every pools[i].lock (spin_lock_nest_lock), require it_map empty (-EBUSY) and fill
 * it with 1s so the allocator fails; release clears it and re-reserves.
 * `bound` (the host driver bound to the group's device) is the iommu core's group claim, under
 * group->mutex: iommu_group_claim_dma_owner() is -EBUSY while a kernel driver is bound.
 */
import { Facet } from './facet.ts';

export interface Pool {
  start: number;
  end: number;
  hint: number;
}

export interface DmaMapping {
  start: number;
  n: number;
  pfns: number[];
}

export interface PoolsData {
  /** The kernel default table these pools allocate from (its id). */
  table: string;
  size: number;
  itMap: boolean[];
  reserved: number[];
  pools: Pool[];
  large: Pool;
  owner: 'kernel' | 'vfio';
  /** A kernel driver is bound to the group's device (the DMA-API threads not yet unbound). */
  bound: boolean;
  boundBy: string[];
  mappings: Record<string, DmaMapping>;
  nextMap: number;
}

export const LARGE_POOL = 'tce:large_pool';
export const poolLock = (i: number) => `tce:pool[${i}]`;

/** iommu_init_table(): nr_pools small pools over the bottom 3/4, the large pool over the top 1/4. */
export function poolLayout(size: number, nrPools: number): { pools: Pool[]; large: Pool } {
  const poolsize = Math.floor((size * 3) / 4 / nrPools);
  const pools: Pool[] = [];
  for (let i = 0; i < nrPools; i++) pools.push({ start: poolsize * i, end: poolsize * (i + 1), hint: poolsize * i });
  return { pools, large: { start: poolsize * nrPools, end: size, hint: poolsize * nrPools } };
}

/** get_pool(tbl, entry): the lock protecting it_map bit `entry`. */
export function poolOf(entry: number, size: number, nrPools: number): string {
  const { pools, large } = poolLayout(size, nrPools);
  if (entry >= large.start) return LARGE_POOL;
  const i = pools.findIndex((p) => entry >= p.start && entry < p.end);
  return poolLock(i < 0 ? 0 : i);
}

export class PoolsState extends Facet<PoolsData> {
  readonly name = 'tce.pools';

  constructor(table: string, size: number, nrPools: number, boundBy: string[]) {
    const { pools, large } = poolLayout(size, nrPools);
    const itMap = Array(size).fill(false);
    // iommu_table_reserve_pages(): entry 0 is never handed out (no zero dma_addr_t).
    itMap[0] = true;
    super({ table, size, itMap, reserved: [0], pools, large, owner: 'kernel', bound: boundBy.length > 0, boundBy, mappings: {}, nextMap: 0 });
  }

  /** iommu_area_alloc() within `pool` from its hint: the first run of n clear bits, or -1. */
  findArea(pool: Pool, n: number): number {
    const scan = (from: number, to: number) => {
      for (let s = from; s + n <= to; s++) if (this.d.itMap.slice(s, s + n).every((b) => !b)) return s;
      return -1;
    };
    const a = scan(pool.hint, pool.end);
    return a >= 0 ? a : scan(pool.start, pool.end);
  }

  setBits(start: number, n: number, locks: string[], by: string): void {
    for (let i = start; i < start + n; i++) this.d.itMap[i] = true;
    this.emit('itmap', { op: 'set', start, n, locks, by });
  }

  clearBits(start: number, n: number, locks: string[], by: string): void {
    for (let i = start; i < start + n; i++) this.d.itMap[i] = false;
    this.emit('itmap', { op: 'clear', start, n, locks, by });
  }

  /** iommu_table_in_use(): any bit set besides the reserved ones. */
  inUse(): boolean {
    return this.d.itMap.some((b, i) => b && !this.d.reserved.includes(i));
  }

  /** iommu_take_ownership(): memset(it_map, 0xff). */
  fill(locks: string[], by: string): void {
    this.d.itMap = this.d.itMap.map(() => true);
    this.d.owner = 'vfio';
    this.emit('itmap', { op: 'fill', start: 0, n: this.d.size, locks, by });
    this.emit('own', { op: 'take', owner: 'vfio', liveMappings: Object.keys(this.d.mappings).length, by });
  }

  /** iommu_release_ownership(): memset(it_map, 0) and re-reserve. */
  empty(locks: string[], by: string): void {
    this.d.itMap = this.d.itMap.map((_, i) => this.d.reserved.includes(i));
    this.d.owner = 'kernel';
    this.emit('itmap', { op: 'empty', start: 0, n: this.d.size, locks, by });
    this.emit('own', { op: 'release', owner: 'kernel', liveMappings: Object.keys(this.d.mappings).length, by });
  }

  override canonical(): unknown {
    const { nextMap: _n, ...rest } = this.d;
    return rest;
  }

  override view(): unknown {
    return { owner: this.d.owner, bound: this.d.bound, itMap: this.d.itMap.map((b) => (b ? '1' : '0')).join(''), mappings: this.d.mappings };
  }
}
