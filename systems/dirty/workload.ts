/**
 * The workload as data (DirtyWorkload in ./types.ts): areas, the VMM's ioctls, the hotplug
 * thread's unmaps, the device's DMAs and each thread's bitmap offset. drawWorkload() draws one
 * from the run's data source (every draw labelled, recorded and shrinkable); a hand-written
 * workload drives the same machines.
 */
import type { DataPort } from '../../core/model/kind.ts';
import type { Params } from '../../core/model/scenario.ts';
import { type AreaSpec, type DevOp, type DirtyWorkload, type HotplugOp, type VmmOp, entrySize, ioSpace } from './types.ts';

export const LAYOUTS = ['blocks', 'pages', 'one-block'] as const;

/**
 * The area layouts, from the table shape (F = fanout, B1 = an L1 block):
 *  - blocks:    A0 = one L1 block [0, B1), A1 = two last-table-level blocks after it, A2 = two pages at 2*B1
 *  - pages:     areas smaller than a block (page leaves): A0 [0,2), A1 [2,4), A2 [2F, 2F+1)
 *  - one-block: A0 = one L1 block.
 * PA = IOVA + the IOVA space (aligned for every block size). Areas that do not fit are left out.
 */
export function layoutAreas(layout: (typeof LAYOUTS)[number], levels: number, fanout: number): AreaSpec[] {
  const g = { levels, fanout };
  const b1 = entrySize(g, 1);
  const bl = entrySize(g, levels - 1);
  const space = ioSpace(g);
  const raw: [number, number][] =
    layout === 'blocks' ? [[0, b1], [b1, 2 * bl], [2 * b1, 2]] : layout === 'pages' ? [[0, 2], [2, 2], [2 * fanout, 1]] : [[0, b1]];
  return raw
    .filter(([iova, pages]) => iova + pages <= space)
    .map(([iova, pages], i) => ({ id: `A${i}`, iova, pages, pa: iova + space }));
}

export function drawWorkload(p: Params, data: DataPort): DirtyWorkload {
  const levels = Number(p.levels);
  const fanout = Number(p.fanout);
  const layout = p.layout === 'draw' ? LAYOUTS[data.int('wl.layout', LAYOUTS.length)] : (String(p.layout) as (typeof LAYOUTS)[number]);
  const areas = layoutAreas(layout, levels, fanout);
  const ids = areas.map((a) => a.id);
  const initial = areas.length >= 3 ? ids.slice(0, -1) : ids;

  // The hotplug thread: wait for tracking, then unplug one of the initially mapped areas (or none).
  const hotplug: HotplugOp[] = [];
  let hpArea: string | null = null;
  if (p.hotplug || p.partialUnmap) hotplug.push({ op: 'WAIT_TRACKING' });
  if (p.partialUnmap) {
    // One page of the first block-mapped area (an in-kernel iommu_unmap of part of a huge IOPTE).
    const blk = areas.find((a) => a.pages >= fanout) ?? areas[0];
    hotplug.push({ op: 'UNMAP_PARTIAL', iova: blk.iova + data.int('wl.hotplug.partialPage', Math.min(blk.pages, fanout)), pages: 1 });
  }
  if (p.hotplug) {
    const k = data.int('wl.hotplug.area', initial.length + 1);
    if (k < initial.length) {
      hpArea = initial[k];
      hotplug.push({ op: 'HOTUNPLUG', area: hpArea });
    }
  }

  // The VMM: map, enable tracking, rounds of GET / GET(NO_CLEAR) / MAP / UNMAP, then the final round.
  const vmm: VmmOp[] = initial.map((area) => ({ op: 'MAP', area }));
  vmm.push({ op: 'SET_DIRTY', enable: true });
  const mapped = new Set(initial);
  const getRange = (r: number): 'areas' | { iova: number; pages: number } => {
    if (p.getRanges !== 'subrange') return 'areas';
    const live = areas.filter((a) => mapped.has(a.id) && a.id !== hpArea);
    if (!live.length) return 'areas';
    const a = live[data.int(`wl.get.${r}.area`, live.length)];
    const off = data.int(`wl.get.${r}.off`, a.pages);
    const len = 1 + data.int(`wl.get.${r}.len`, a.pages - off);
    return { iova: a.iova + off, pages: len };
  };
  for (let r = 0; r < Number(p.rounds); r++) {
    const kind = data.int(`wl.vmm.round.${r}.kind`, 4);
    if (kind === 2) {
      const free = ids.filter((id) => !mapped.has(id));
      if (free.length) {
        const a = free[data.int(`wl.vmm.round.${r}.map`, free.length)];
        mapped.add(a);
        vmm.push({ op: 'MAP', area: a });
        continue;
      }
    }
    if (kind === 3) {
      const can = [...mapped].filter((id) => id !== hpArea);
      if (can.length > 1) {
        const a = can[data.int(`wl.vmm.round.${r}.unmap`, can.length)];
        mapped.delete(a);
        vmm.push({ op: 'UNMAP', area: a });
        continue;
      }
    }
    vmm.push({ op: 'GET', range: getRange(r), noClear: kind === 1 });
  }
  vmm.push({ op: 'QUIESCE' }, { op: 'GET', range: 'areas', noClear: false }, { op: 'SET_DIRTY', enable: false });

  // The device: `writes` accesses over the layout's pages and one unmapped page, quiet until tracking
  // from a drawn point on (so most of them land while the migration runs).
  const pages = areas.flatMap((a) => [...Array(a.pages).keys()].map((k) => a.iova + k));
  const spare = [...Array(ioSpace({ levels, fanout })).keys()].find((x) => !areas.some((a) => x >= a.iova && x < a.iova + a.pages));
  if (spare !== undefined) pages.push(spare);
  const n = Number(p.writes);
  const dev: DevOp[] = [];
  for (let i = 0; i < n; i++) {
    const read = data.chance(`wl.dev.${i}.read`, Number(p.readsFraction));
    dev.push({ op: read ? 'READ' : 'WRITE', page: pages[data.int(`wl.dev.${i}.page`, pages.length)] });
  }
  dev.splice(data.int('wl.dev.gate', Math.min(2, n) + 1), 0, { op: 'WAIT_TRACKING' });

  const offset = (who: string) => (Number(p.bitmapOffset) >= 0 ? Math.min(Number(p.bitmapOffset), Number(p.bmPageBytes) - 1) : data.int(`wl.bitmap.offset.${who}`, Number(p.bmPageBytes)));
  return { areas, vmm, hotplug, dev, bitmap: { vmm: { offset: offset('vmm') }, hotplug: { offset: offset('hotplug') } } };
}
