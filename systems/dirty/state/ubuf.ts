/**
 * Each userspace thread's dirty bitmap buffer (the `data` pointer of IOMMU_HWPT_GET_DIRTY_BITMAP)
 * as user memory (kernel/bitmap.ts PagedUserBitmap). Ownership: the thread lays it out before the
 * ioctl; the kernel writes it through pinned pages while that thread is blocked in the ioctl; the
 * thread reads it after. One per thread, so no lock.
 */
import type { SharedState } from '../../../core/model/shared.ts';
import { PagedUserBitmap, type PagedUserBitmapState } from '../../../kernel/bitmap.ts';

export class UbufState implements SharedState {
  readonly name = 'dirty.ubuf';
  d: Record<string, PagedUserBitmapState> = {};

  of(actor: string): PagedUserBitmap {
    const s = this.d[actor];
    if (!s) throw new Error(`${actor} has no user bitmap laid out`);
    return new PagedUserBitmap(s);
  }

  layout(actor: string, pageBytes: number, offset: number, nbits: number): PagedUserBitmap {
    const b = PagedUserBitmap.layout(pageBytes, offset, nbits);
    this.d[actor] = b.s;
    return b;
  }

  snapshot(): unknown {
    return structuredClone(this.d);
  }

  restore(s: unknown): void {
    this.d = structuredClone(s as Record<string, PagedUserBitmapState>);
  }

  canonical(): unknown {
    return Object.keys(this.d)
      .sort()
      .map((k) => [k, this.d[k]]);
  }

  view(): unknown {
    return Object.fromEntries(
      Object.keys(this.d)
        .sort()
        .map((k) => {
          const b = new PagedUserBitmap(this.d[k]);
          return [k, { hex: b.hex(), start: b.s.start, nbits: b.s.nbits, outside: b.s.outside }];
        }),
    );
  }
}
