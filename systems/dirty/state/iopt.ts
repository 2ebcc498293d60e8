/**
 * The io_pagetable as dirty tracking sees it (drivers/iommu/iommufd/io_pagetable.c, K): the area
 * tree with each area's `pages` state, the domain's tracking switch, and the run's fences.
 *
 * Locking: see `Area` in ../types.ts (area tree, pagesSet, state: iova_rwsem write; readers hold
 * it for read). `tracking` is written by SET_DIRTY_TRACKING under iova_rwsem read (the op itself
 * has no lock: arm_smmu_set_dirty_tracking returns 0, F15). `devDone`/`hotplugDone` are the model's
 * fences (each written by its own actor only), read by the VMM before its final round.
 */
import type { SharedState } from '../../../core/model/shared.ts';
import type { Area, AreaSpec } from '../types.ts';

export interface IoptData {
  areas: Area[];
  tracking: boolean;
  devDone: boolean;
  hotplugDone: boolean;
}

export class IoptState implements SharedState {
  readonly name = 'dirty.iopt';
  d: IoptData = { areas: [], tracking: false, devDone: false, hotplugDone: false };

  constructor(readonly specs: AreaSpec[]) {}

  spec(id: string): AreaSpec {
    const a = this.specs.find((s) => s.id === id);
    if (!a) throw new Error(`workload names no area ${id}`);
    return a;
  }

  area(id: string): Area | undefined {
    return this.d.areas.find((a) => a.id === id);
  }

  /** The area containing `iova` (in the tree, any state). */
  at(iova: number): Area | undefined {
    return this.d.areas.find((a) => iova >= a.iova && iova < a.iova + a.pages);
  }

  overlaps(iova: number, pages: number): Area | undefined {
    return this.d.areas.find((a) => a.iova < iova + pages && iova < a.iova + a.pages);
  }

  /** Areas sorted by IOVA. */
  sorted(): Area[] {
    return [...this.d.areas].sort((a, b) => a.iova - b.iova);
  }

  insert(a: Area): void {
    this.d.areas.push(a);
  }

  remove(id: string): void {
    this.d.areas = this.d.areas.filter((a) => a.id !== id);
  }

  snapshot(): unknown {
    return structuredClone(this.d);
  }

  restore(s: unknown): void {
    this.d = structuredClone(s as IoptData);
  }

  canonical(): unknown {
    return { ...this.d, areas: this.sorted() };
  }

  view(): unknown {
    return { tracking: this.d.tracking, areas: this.sorted().map((a) => `${a.id} [${a.iova},${a.iova + a.pages}) ${a.state}${a.pagesSet ? '' : ' pages=NULL'}${a.revoked ? ' revoked' : ''}`), devDone: this.d.devDone, hotplugDone: this.d.hotplugDone };
  }
}
