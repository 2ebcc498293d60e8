/** The TCE model's shared state: seven pieces, each snapshot, restored and hashed on its own. */
import type { SharedSetup } from '../../../core/model/scenario.ts';
import { CacheState } from './cache.ts';
import { ContainerState } from './container.ts';
import { KvmState } from './kvm.ts';
import { MemState } from './mem.ts';
import { PoolsState } from './pools.ts';
import { PreregState } from './prereg.ts';
import { TablesState } from './tables.ts';
import type { FacetName, GuestTce } from './types.ts';

export * from './cache.ts';
export * from './container.ts';
export * from './kvm.ts';
export * from './mem.ts';
export * from './pools.ts';
export * from './prereg.ts';
export * from './tables.ts';
export * from './types.ts';

/** The kernel's default DMA window table (the host driver's DMA-API table). */
export const KTABLE = 'K';

/** Typed access to the pieces through the world's port (so footprints see every piece a step touches). */
export class Facets {
  constructor(private readonly get: (name: FacetName) => unknown) {}
  get tables(): TablesState {
    return this.get('tce.tables') as TablesState;
  }
  get cache(): CacheState {
    return this.get('tce.cache') as CacheState;
  }
  get mem(): MemState {
    return this.get('tce.mem') as MemState;
  }
  get prereg(): PreregState {
    return this.get('tce.prereg') as PreregState;
  }
  get container(): ContainerState {
    return this.get('tce.container') as ContainerState;
  }
  get pools(): PoolsState {
    return this.get('tce.pools') as PoolsState;
  }
  get kvm(): KvmState {
    return this.get('tce.kvm') as KvmState;
  }
}

export interface TceGeometry {
  v2: boolean;
  windowPages: number;
  levels: number;
  levelSize: number;
  nrPools: number;
  cacheSize: number;
  uaPages: number;
  devmemPages: number;
  /** DMA-API threads bound to the device at the start (the host driver). */
  boundBy: string[];
  lists: Record<string, GuestTce[]>;
}

/** One run's shared state: the kernel's default table in window 0, its pools, memory, an empty container. */
export function tceShared(g: TceGeometry): SharedSetup {
  const tables = new TablesState();
  tables.create({ id: KTABLE, offset: 0, size: g.windowPages, levels: g.levels, levelSize: g.levelSize, userspace: false, vfio: false, accounted: 0 });
  tables.setWindow(0, KTABLE);
  return {
    states: [
      tables,
      new CacheState(g.cacheSize),
      new MemState(g.uaPages, g.devmemPages, 0),
      new PreregState(),
      new ContainerState(g.v2),
      new PoolsState(KTABLE, g.windowPages, g.nrPools, g.boundBy),
      new KvmState(g.lists),
    ],
  };
}
