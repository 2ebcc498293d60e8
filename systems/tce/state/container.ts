/**
 * The VFIO container (struct tce_container, drivers/vfio/vfio_iommu_spapr_tce.c, 6.17) and its group.
 *
 * Locking: container->lock (mutex) covers enable/disable, register/unregister, create/remove
 * window, attach/detach and release. MAP_DMA and UNMAP_DMA do **not** take it: they read
 * `enabled`, `defWindowPending` and `tables[]` lock-free (tce_iommu_ioctl) and, in 6.17, even
 * create the default window without it (tce_iommu_create_default_window). `tcemems` is the
 * container's prereg_list: each entry holds one `used` reference on its region.
 * `finished` is not kernel state: the threads that have closed their fds, so the last close can
 * run tce_iommu_release() (no ioctl can run concurrently with release).
 */
import { Facet } from './facet.ts';

export interface ContainerData {
  v2: boolean;
  enabled: boolean;
  /** container->mm set (tce_iommu_mm_set). */
  mm: boolean;
  defWindowPending: boolean;
  /** v1: locked_vm pages accounted at ENABLE. */
  lockedPages: number;
  tables: (string | null)[];
  /** The group is on group_list. */
  attached: boolean;
  /** prereg_list: region ids, head first. */
  tcemems: string[];
  released: boolean;
  finished: string[];
  /** Tables created so far (ids W0, W1, ...). */
  nextTable: number;
}

export class ContainerState extends Facet<ContainerData> {
  readonly name = 'tce.container';

  constructor(v2: boolean) {
    super({ v2, enabled: false, mm: false, defWindowPending: false, lockedPages: 0, tables: [null, null], attached: false, tcemems: [], released: false, finished: [], nextTable: 0 });
  }

  /** tce_iommu_find_table(): the container table whose window holds bus page `entry`. */
  findTable(entry: number, geometry: (id: string) => { offset: number; size: number }): { num: number; id: string } | null {
    for (let i = 0; i < this.d.tables.length; i++) {
      const id = this.d.tables[i];
      if (!id) continue;
      const g = geometry(id);
      if (entry >= g.offset && entry < g.offset + g.size) return { num: i, id };
    }
    return null;
  }

  /** tce_iommu_find_free_table(). */
  freeSlot(): number {
    const i = this.d.tables.indexOf(null);
    return i < 0 ? -28 /* -ENOSPC */ : i;
  }

  addTcemem(region: string): void {
    this.d.tcemems.unshift(region);
    this.emit('tcemem', { region, op: 'add' });
  }

  delTcemem(region: string): void {
    const i = this.d.tcemems.indexOf(region);
    if (i >= 0) this.d.tcemems.splice(i, 1);
    this.emit('tcemem', { region, op: 'del' });
  }

  finish(thread: string): void {
    if (!this.d.finished.includes(thread)) this.d.finished.push(thread);
  }

  override canonical(): unknown {
    const { nextTable: _n, ...rest } = this.d;
    return { ...rest, finished: [...this.d.finished].sort() };
  }
}
