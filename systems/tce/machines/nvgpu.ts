/**
 * tce.nvgpu: the NVLink2 GPU RAM mapping (vfio_pci_nvgpu_mmap, drivers/vfio/pci/vfio_pci_nvlink2.c,
 * v5.0–v5.12, since removed): ->mmap() runs with mmap_lock held and registers the GPU RAM with
 * mm_iommu_newdev() (mem_list_mutex): the lock order mmap_lock → mem_list_mutex that the old
 * REGISTER order (mem_list_mutex → mmap_lock, before eb9d7a62c386) inverts. The region is device
 * memory: not pinned, not accounted (dev_hpa path of mm_iommu_do_alloc). Only with nvgpu=true.
 */
import { DEVMEM_PFN } from '../state/types.ts';
import type { Op } from '../workload.ts';
import { MEM_LIST_MUTEX, MMAP_LOCK } from './common.ts';
import { type PathDef, type ProgramDef, threadKind } from './interp.ts';

function mmapPath(): PathDef {
  return {
    entry: 'start',
    steps: {
      // do_mmap: mmap_write_lock held by the caller of ->mmap().
      start: {
        next: ['newdev'],
        fn: 'vm_mmap_pgoff',
        needs: () => [{ lock: MMAP_LOCK, mode: 'write' }],
        run: (x) => {
          x.lock(MMAP_LOCK);
          x.sleeps('mmap_write_lock');
          x.go('newdev');
        },
      },
      // mm_iommu_newdev → mm_iommu_do_alloc(dev_hpa): kzalloc, then mem_list_mutex: overlap, list_add_rcu.
      newdev: {
        next: ['exit'],
        fn: 'mm_iommu_newdev',
        needs: () => [{ lock: MEM_LIST_MUTEX, mode: 'write' }],
        run: (x) => {
          const op = x.f.op as Extract<Op, { op: 'mmap_gpu' }>;
          const P = x.S.prereg;
          x.sleeps('kzalloc(GFP_KERNEL)');
          x.lock(MEM_LIST_MUTEX);
          let ret = 0;
          if (P.overlaps(op.ua, op.pages)) ret = -22;
          else {
            const id = P.create(op.ua, op.pages, true);
            const r = P.region(id);
            for (let i = 0; i < op.pages; i++) r.pfns.push(DEVMEM_PFN + i);
            P.publish(id, x.where);
          }
          x.unlock(MEM_LIST_MUTEX);
          x.unlock(MMAP_LOCK);
          x.exit(ret);
        },
      },
    },
    facets: ['tce.prereg'],
    locks: [MMAP_LOCK, MEM_LIST_MUTEX],
  };
}

export const nvgpuProgram: ProgramDef = {
  kind: 'tce.nvgpu',
  paths: { mmap_gpu: mmapPath() },
  guards: {},
  pathOf: (op) => op.op,
};

export const nvgpuKind = threadKind(nvgpuProgram);
