/**
 * struct vfio_iommu of one container (drivers/vfio/vfio_iommu_type1.c, 6.17-rc), as plain data.
 *
 * Locking (as vfio_iommu_type1.c documents it; the `fields-under-lock` monitor checks every write):
 *   tracking (dirty_page_tracking)      iommu->lock
 *   counter  (num_non_pinned_groups)    iommu->lock
 *   pinnedScope (v5.8-v5.11 bool)       iommu->lock
 *   domains, emulated, groups[g].scope  iommu->lock
 *   dmas (the rb-tree of vfio_dma), each dma's pfn_list, iommu_mapped and bitmap
 *                                       iommu->lock
 *   devList (iommu->device_list)        iommu->lock AND iommu->device_list_lock (both held to write;
 *                                       either held to read, see vfio_iommu_type1_register_device)
 * Ownership: a vfio_dma is owned by the container from MAP_DMA to vfio_remove_dma(); its bitmap
 * by the dma from vfio_dma_bitmap_alloc() (START, or MAP while tracking) to vfio_dma_bitmap_free()
 * (STOP, or removal). A vfio_iommu_group record is owned by the container from attach to detach.
 */
import type { SharedPort, SharedState } from '../../../core/model/shared.ts';
import type { Observation } from '../../../core/model/effects.ts';
import { TYPE1, type ScopeTracking } from '../types.ts';

export interface DmaState {
  /** Instance name: "<dma>#<n>", new at every MAP of that iova range. */
  inst: string;
  /** First page of the range (iova / pageSize). */
  iova: number;
  pages: number;
  /** vfio_dma.iommu_mapped: pinned and mapped into every domain. */
  mapped: boolean;
  /** pfn_list: vpfn ref_count by page index (pages pinned by vfio_pin_pages). */
  pfn: Record<string, number>;
  /**
   * The dirty bitmap, allocated only while tracking: `pages` bits plus the 64 spare bits
   * vfio_dma_bitmap_alloc() adds for update_user_bitmap()'s shift. null: not allocated.
   */
  bitmap: number[] | null;
  /** Page frame of index 0 (pfns are per instance). */
  pfnBase: number;
}

export interface GroupState {
  kind: 'iommu' | 'emulated';
  /** vfio_iommu_group.pinned_page_dirty_scope */
  scope: boolean;
  domain: string | null;
}

export interface DomainState {
  id: string;
  /** domain->group_list, head first. */
  groups: string[];
}

export interface Type1Data {
  tracking: boolean;
  counter: number;
  pinnedScope: boolean;
  mode: ScopeTracking;
  /** iommu->domain_list, head first (list_add puts a new domain at the head). */
  domains: DomainState[];
  /** iommu->emulated_iommu_groups, head first. */
  emulated: string[];
  /** Attached vfio_iommu_group records. */
  groups: Record<string, GroupState>;
  dmas: Record<string, DmaState>;
  devList: string[];
  /** Allocation sequence numbers (not part of the canonical state). */
  seq: { inst: number; domain: number };
}

export class Type1State implements SharedState {
  readonly name = TYPE1;
  private port: SharedPort | null = null;

  constructor(public s: Type1Data) {}

  connect(port: SharedPort): void {
    this.port = port;
  }

  observe(o: Observation): void {
    this.port?.observe(o);
  }

  /** The groups attached and the dmas mapped at the start, filed under step 0. */
  announce(): void {
    for (const g of this.walkOrder()) {
      const x = this.s.groups[g];
      this.observe({ what: 'group-attach', g, kind: x.kind, scope: x.scope, domain: x.domain });
    }
    for (const n of this.dmaNames()) {
      const d = this.s.dmas[n];
      this.observe({ what: 'dma-map', dma: n, inst: d.inst, pages: d.pages, mapped: d.mapped });
    }
  }

  snapshot(): unknown {
    return structuredClone(this.s);
  }

  restore(s: unknown): void {
    this.s = structuredClone(s as Type1Data);
  }

  canonical(): unknown {
    const { seq: _seq, ...rest } = this.s;
    return rest;
  }

  /** The dmas in iova order (the rb-tree's order). */
  dmaNames(): string[] {
    return Object.keys(this.s.dmas).sort((a, b) => this.s.dmas[a].iova - this.s.dmas[b].iova);
  }

  /** Attached groups in the order the scope walk visits them: each domain's, then the emulated ones. */
  walkOrder(): string[] {
    return [...this.s.domains.flatMap((d) => d.groups), ...this.s.emulated];
  }

  view(): unknown {
    const s = this.s;
    return {
      tracking: s.tracking,
      counter: s.mode === 'counter' ? s.counter : null,
      pinnedScope: s.mode === 'bool' ? s.pinnedScope : null,
      domains: s.domains,
      emulated: s.emulated,
      groups: s.groups,
      devList: s.devList,
      dmas: Object.fromEntries(
        this.dmaNames().map((d) => {
          const x = s.dmas[d];
          return [d, { inst: x.inst, iova: x.iova, pages: x.pages, mapped: x.mapped, pfn: x.pfn, bitmap: x.bitmap ? bitString(x.bitmap, x.pages) : null }];
        }),
      ),
    };
  }
}

/** The first `n` bits, LSB first, with "+k" when k bits are set beyond them. */
export function bitString(bits: number[], n: number): string {
  const head = bits.slice(0, n).join('');
  const extra = bits.slice(n).reduce((a, b) => a + b, 0);
  return extra ? `${head}+${extra}` : head;
}
