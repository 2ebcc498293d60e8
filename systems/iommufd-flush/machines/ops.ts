/**
 * The operations each actor performs: the workload is data (JSON), one list per actor, so a
 * hand-written sequence drives the same machines as a drawn one. IOVAs, uptrs and lengths are in
 * pages.
 */

/** A VMM thread's ioctls on /dev/iommu (and the vfio-compat container ioctls). */
export type VmmOp =
  /** IOMMU_IOAS_MAP of user pages [uptr, uptr+len) at iova. */
  | { op: 'map'; ioas: number; iova: number; uptr: number; len: number }
  /** IOMMU_IOAS_COPY: the areas covering src become new areas at dst sharing their iopt_pages. */
  | { op: 'copy'; src: { ioas: number; iova: number; len: number }; dst: { ioas: number; iova: number } }
  /** IOMMU_IOAS_UNMAP of [iova, iova+len). */
  | { op: 'unmap'; ioas: number; iova: number; len: number }
  /** VFIO_IOMMU_UNMAP_DMA through vfio-compat: cut the areas at the range ends, then unmap. */
  | { op: 'vfioUnmap'; ioas: number; iova: number; len: number }
  /** VFIO_SET_IOMMU(TYPE1): iopt_disable_large_pages(). */
  | { op: 'setType1'; ioas: number }
  /** IOMMU_HWPT_ALLOC of a paging domain on the IOAS (non-coherent or not) and attach of `dev`. */
  | { op: 'attach'; hwpt: string; ioas: number; nc: boolean; dev: string | null }
  /** Detach the device and IOMMU_DESTROY the HWPT. */
  | { op: 'detach'; hwpt: string }
  /** IOMMU_DESTROY of an object by id (an access object: the 99f98a7c0d69 race). */
  | { op: 'destroy'; obj: string }
  /** A store or load by the VMM thread itself to its own memory (no kernel). */
  | { op: 'touch'; uptr: number; len: number; write: boolean }
  | UserSync;

/** Userspace synchronisation between the workload's threads (a pipe or a futex: no kernel lock modelled). */
export type UserSync = { op: 'signal'; flag: string } | { op: 'wait'; flag: string };

/** An in-kernel access driver (an mdev-like user of iommufd_access_*). */
export type AccessOp =
  | { op: 'create'; ioas: number }
  | { op: 'pin'; iova: number; len: number }
  | { op: 'rw'; iova: number; len: number; write: boolean }
  | { op: 'unpin'; iova: number; len: number }
  | { op: 'destroy' }
  /** Queued by NOTIFY_UNMAP: the driver's unmap callback unpinning what overlaps. */
  | { op: 'notifyUnpin'; iova: number; len: number }
  /** Queued by NOTIFY_UNMAP: the callback returns. */
  | { op: 'reply'; to: string }
  | UserSync;

/** A user thread touching its own memory (no kernel lock). `random`: drawn at run time. */
export type CpuOp = { op: 'write'; uptr: number } | { op: 'read'; uptr: number } | { op: 'random' };

export interface FlushWorkload {
  vmm: VmmOp[][];
  access: AccessOp[][];
  cpu: CpuOp[][];
  /** Per device: how many DMAs it issues while attached. */
  dev: { dmaOps: number }[];
}

export function opName(o: VmmOp | AccessOp): string {
  switch (o.op) {
    case 'map':
      return `IOAS_MAP ioas${o.ioas} iova ${o.iova}+${o.len} uptr ${o.uptr}`;
    case 'copy':
      return `IOAS_COPY ioas${o.src.ioas} iova ${o.src.iova}+${o.src.len} -> ioas${o.dst.ioas} iova ${o.dst.iova}`;
    case 'unmap':
      return `IOAS_UNMAP ioas${o.ioas} iova ${o.iova}+${o.len}`;
    case 'vfioUnmap':
      return `VFIO_IOMMU_UNMAP_DMA ioas${o.ioas} iova ${o.iova}+${o.len}`;
    case 'setType1':
      return `VFIO_SET_IOMMU(TYPE1) ioas${o.ioas}`;
    case 'attach':
      return `HWPT_ALLOC ${o.hwpt}${o.nc ? ' (non-coherent)' : ''} ioas${o.ioas}${o.dev ? ` + attach ${o.dev}` : ''}`;
    case 'detach':
      return `detach + DESTROY ${o.hwpt}`;
    case 'destroy':
      return `IOMMU_DESTROY ${'obj' in o ? o.obj : ''}`;
    case 'create':
      return `iommufd_access_create ioas${o.ioas}`;
    case 'pin':
      return `iommufd_access_pin_pages iova ${o.iova}+${o.len}`;
    case 'rw':
      return `access ${o.write ? 'write' : 'read'} iova ${o.iova}+${o.len}`;
    case 'unpin':
    case 'notifyUnpin':
      return `iommufd_access_unpin_pages iova ${o.iova}+${o.len}`;
    case 'reply':
      return 'unmap callback returns';
    case 'touch':
      return `user ${o.write ? 'stores to' : 'loads from'} uptr ${o.uptr}+${o.len}`;
    case 'signal':
      return `signal ${o.flag}`;
    case 'wait':
      return `wait ${o.flag}`;
  }
}
