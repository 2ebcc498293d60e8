/**
 * The workload as data: the container's configuration at the start and every actor's list of
 * operations, drawn from the run's data source (labelled, recorded, shrinkable) by
 * `drawWorkload`, or written by hand (`buildFromWorkload` in scenario.ts takes either).
 *
 * Layout: dma `dK` covers pages [K*dmaPages, (K+1)*dmaPages) (page-granular iovas; `pageSize`
 * bytes per page for vfio_dma_rw offsets). Groups g0.. are IOMMU-backed, e0.. emulated (one mdev
 * each). pdevs are numbered across groups; joiners come last.
 */
import type { DataPort } from '../../core/model/kind.ts';
import type { Params } from '../../core/model/scenario.ts';
import type { DevOp, DeviceSpec, MigOp, VfioScopeWorkload, VmmOp } from './types.ts';

export function dmaName(i: number): string {
  return `d${i}`;
}

export function drawWorkload(p: Params, data: DataPort): VfioScopeWorkload {
  const nG = Number(p.iommuGroups);
  const nE = Number(p.mdevs);
  const nD = Number(p.dmas);
  const pages = Number(p.dmaPages);
  const pageSize = Number(p.pageSize);
  const opsPer = Number(p.opsPerDevice);
  const pinners = String(p.pinners);
  const iommuGroups = [...Array(nG).keys()].map((i) => `g${i}`);
  const emulatedGroups = [...Array(nE).keys()].map((i) => `e${i}`);
  const dmas = [...Array(nD).keys()].map(dmaName);
  const devices: DeviceSpec[] = [];
  let np = 0;
  for (const g of iommuGroups) {
    for (let j = 0; j < Number(p.devicesPerGroup); j++) devices.push({ id: `pdev${np++}`, kind: 'pdev', group: g, joiner: false, pinner: pinners !== 'emulated' && j === 0 });
  }
  if (nG > 0) for (let j = 0; j < Number(p.joins); j++) devices.push({ id: `pdev${np++}`, kind: 'pdev', group: iommuGroups[j % nG], joiner: true, pinner: false });
  emulatedGroups.forEach((g, i) => devices.push({ id: `mdev${i}`, kind: 'mdev', group: g, joiner: false, pinner: pinners !== 'iommu' }));

  const pick = (label: string) => dmas[data.int(label, nD)];
  const ops: Record<string, DevOp[]> = {};
  for (const d of devices) {
    const L = `workload:${d.id}`;
    const list: DevOp[] = [];
    if (d.joiner) list.push({ op: 'join' });
    if (d.pinner) list.push({ op: 'open' });
    if (d.kind === 'mdev') {
      const pinned: { dma: string; idx: number }[] = [];
      for (let i = 0; i < opsPer; i++) {
        const kind = d.pinner ? data.int(`${L}:op`, 3) : 1;
        if (kind === 0 || (kind === 2 && pinned.length === 0)) {
          const n = pages > 1 ? 1 + data.int(`${L}:n`, 2) : 1;
          const dma = pick(`${L}:dma`);
          const idx = data.int(`${L}:page`, pages - n + 1);
          list.push({ op: 'pin', dma, idx, n });
          pinned.push({ dma, idx });
          if (data.chance(`${L}:write`, 0.8)) list.push({ op: 'write', dma, idx });
          if (data.chance(`${L}:unpin`, 0.4)) list.push({ op: 'unpin', dma, idx, n });
        } else if (kind === 1) {
          const dma = pick(`${L}:dma`);
          const page = data.int(`${L}:page`, pages);
          // Half the writes start on the last byte of a page, so they straddle two pages.
          const off = page * pageSize + (data.chance(`${L}:straddle`, 0.5) ? pageSize - 1 : data.int(`${L}:off`, pageSize));
          const len = 1 + data.int(`${L}:len`, pageSize + 1);
          list.push({ op: 'rw', dma, off, len });
        } else {
          const at = pinned[data.int(`${L}:which`, pinned.length)];
          list.push({ op: 'write', dma: at.dma, idx: at.idx });
        }
      }
    } else if (d.pinner) {
      // The seed's IOMMU-backed pinner: DMA anywhere, then pin to declare its scope, then only pinned pages.
      const before = data.int(`${L}:before`, opsPer + 1);
      for (let i = 0; i < before; i++) list.push({ op: 'dma', dma: pick(`${L}:dma`), idx: data.int(`${L}:page`, pages) });
      const dma = pick(`${L}:dma`);
      const n = pages > 1 ? 1 + data.int(`${L}:n`, 2) : 1;
      const idx = data.int(`${L}:page`, pages - n + 1);
      list.push({ op: 'pin', dma, idx, n });
      for (let i = 0; i < 1 + data.int(`${L}:writes`, 2); i++) list.push({ op: 'write', dma, idx: idx + data.int(`${L}:wpage`, n) });
      if (data.chance(`${L}:unpin`, 0.5)) list.push({ op: 'unpin', dma, idx, n });
    } else {
      for (let i = 0; i < opsPer; i++) list.push({ op: 'dma', dma: pick(`${L}:dma`), idx: data.int(`${L}:page`, pages) });
    }
    list.push({ op: 'close' });
    ops[d.id] = list;
  }

  const mig: MigOp[] = [{ op: 'start' }];
  for (let i = 0; i < Number(p.getRounds); i++) {
    if (nD > 1 && data.chance('workload:mig:one', 0.3)) {
      const k = data.int('workload:mig:dma', nD);
      mig.push({ op: 'get', from: k, to: k });
    } else mig.push({ op: 'get', from: 0, to: nD - 1 });
  }
  mig.push({ op: 'stop' });

  const vmm: VmmOp[] = [];
  for (let i = 0; i < Number(p.vmmOps); i++) {
    const kind = data.int('workload:vmm:op', nG > 0 ? 4 : 2);
    if (kind === 0) vmm.push({ op: 'unmap', dma: pick('workload:vmm:dma'), bitmap: data.chance('workload:vmm:bitmap', 0.5) });
    else if (kind === 1) vmm.push({ op: 'map', dma: pick('workload:vmm:dma') });
    else if (kind === 2) vmm.push({ op: 'detach', group: iommuGroups[data.int('workload:vmm:group', nG)] });
    else vmm.push({ op: 'attach', group: iommuGroups[data.int('workload:vmm:group', nG)] });
  }
  if (p.teardown) {
    for (const d of dmas) vmm.push({ op: 'unmap', dma: d, bitmap: false });
    for (const g of [...iommuGroups, ...emulatedGroups]) vmm.push({ op: 'detach', group: g });
  }
  return { iommuGroups, emulatedGroups, dmas, devices, vmm, mig, ops };
}
