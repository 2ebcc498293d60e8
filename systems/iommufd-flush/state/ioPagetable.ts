/**
 * Pieces of drivers/iommu/iommufd/io_pagetable.c the paths share: the contiguous-area iterator
 * (iopt_for_each_contig_area / iopt_area_contig_done) and iopt_area_split() (vfio-compat cut).
 */
import type { Area } from '../types.ts';
import { pagesMutex } from '../types.ts';
import type { IommufdState } from './iommufd.ts';
import type { LockOp } from '../machines/stepper.ts';

export interface ContigPart {
  area: string;
  /** IOVA range of this area inside the request. */
  from: number;
  to: number;
}

/**
 * iopt_for_each_contig_area(iova, last): the areas that cover [iova, last] back to back, stopping
 * at a gap or an area whose pages are NULL (busy). `lastArea` is iter->area when the loop ended
 * (what iopt_area_contig_done() dereferences), `done` its result.
 */
export function contigAreas(st: IommufdState, ioas: number, iova: number, last: number): { parts: ContigPart[]; lastArea: string | null; done: boolean } {
  const parts: ContigPart[] = [];
  let cur = iova;
  let area: Area | null = st.areaIterFirst(ioas, iova, iova);
  if (!area || !area.pages) return { parts, lastArea: null, done: false };
  for (;;) {
    parts.push({ area: area.id, from: Math.max(cur, area.iova), to: Math.min(last, area.last) });
    if (last <= area.last) return { parts, lastArea: area.id, done: true };
    cur = area.last + 1;
    const next: Area | null = st.areaIterFirst(ioas, cur, last);
    if (!next || next.iova !== cur || !next.pages) return { parts, lastArea: null, done: false };
    area = next;
  }
}

/** Index of an IOVA inside an area (iopt_area_iova_to_index). */
export function iovaToIndex(a: Area, iova: number): number {
  return a.start + (iova - a.iova);
}

/**
 * iopt_area_split(area, iova) under iova_rwsem W: cut the area after IOVA page `iova` into lhs and
 * rhs. A cut at the area's last page needs no split. Refused (-EBUSY) while the area is busy or
 * an unmap is preventing accesses; under pages->mutex refused (-EINVAL) if an access exists or the
 * area is filled while large pages are allowed. `updateItree` is e7250ab7ca49: the filled area's
 * pages_node is replaced by lhs's and rhs's in domains_itree.
 */
export function areaSplit(st: IommufdState, area: Area, iova: number, updateItree: boolean, lock: LockOp[]): number {
  if (iova >= area.last) return 0;
  if (!area.pages || area.preventAccess) return -16;
  if (st.fault('kzalloc:split')) return -12;
  if (st.fault('kzalloc:split')) return -12;
  const p = st.pages(area.pages);
  lock.push({ op: 'lock', lock: pagesMutex(p.id), path: 'iopt_area_split' });
  const done = (rc: number) => {
    lock.push({ op: 'unlock', lock: pagesMutex(p.id), path: 'iopt_area_split' });
    return rc;
  };
  if (area.numAccesses) return done(-22);
  if (area.storage && !st.iopt(area.ioas).disableLargePages) return done(-22);
  st.unjournalled(() => splitAreas(st, area, iova, updateItree));
  return done(0);
}

/** The split itself: no mapping, pin or IOVA reservation changes, so it is not journalled. */
function splitAreas(st: IommufdState, area: Area, iova: number, updateItree: boolean): void {
  const p = st.pages(area.p);
  st.removeArea(area);
  const lhs = st.newArea(area.ioas, p.id, area.iova, area.start, iova - area.iova + 1);
  const rhs = st.newArea(area.ioas, p.id, iova + 1, area.start + (iova + 1 - area.iova), area.last - iova);
  st.insertArea(lhs);
  st.insertArea(rhs);
  if (area.storage && updateItree) {
    st.itreeRemove(p, area);
    st.itreeInsert(p, lhs);
    st.itreeInsert(p, rhs);
  }
  for (const half of [lhs, rhs]) {
    st.setStorage(half, area.storage, 'iopt_area_split');
    half.storageNc = area.storageNc;
    half.pages = area.pages;
  }
  st.getPages(p);
  st.freeArea(area, 'iopt_area_split');
}
