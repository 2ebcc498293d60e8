/**
 * The workload as data: every actor's operations, JSON-able, drawn by `drawWorkload(params, data)`
 * (labels "wl:<actor>:…", recorded in the schedule and shrinkable) or written by hand. `build()`
 * builds the actors from a TceWorkload, so a hand-written one drives the same machines.
 */
import type { DataPort } from '../../core/model/kind.ts';
import type { Params } from '../../core/model/scenario.ts';
import type { Dir, GuestTce } from './state/types.ts';

/** Bus page where the dynamic DMA window (TCE_CREATE) starts (the real one is at 1 << 59). */
export const DDW_OFFSET = 32;
/** User address of the GPU RAM the NVLink2 driver maps (vfio_pci_nvgpu_mmap) when nvgpu=true. */
export const gpuUa = (p: Params) => Number(p.uaPages);

export type Op =
  // VMM thread: VFIO ioctls (drivers/vfio/vfio_iommu_spapr_tce.c) and its own mm.
  | { op: 'attach'; afterUnbind: boolean }
  | { op: 'enable' }
  | { op: 'register'; ua: number; pages: number }
  | { op: 'unregister'; ua: number; pages: number }
  | { op: 'create'; levels: number; pages: number }
  | { op: 'map'; entry: number; ua: number; pages: number; dir: Dir }
  | { op: 'unmap'; entry: number; pages: number }
  | { op: 'munmap'; ua: number; pages: number }
  | { op: 'release'; waitFor: string[] }
  /** QEMU starts the guest once the machine is set up (memory registered, the DDW created) … */
  | { op: 'start_guest' }
  /** … and its other threads (the guest's DMA map requests, the memory listener) act only then. */
  | { op: 'wait_guest' }
  // vCPU: KVM hcalls (arch/powerpc/kvm/book3s_64_vio.c) and guest stores.
  | { op: 'h_put_tce'; entry: number; tce: GuestTce }
  | { op: 'h_put_tce_indirect'; entry: number; list: string; npages: number }
  | { op: 'h_stuff_tce'; entry: number; npages: number }
  | { op: 'rewrite'; list: string; idx: number; value: GuestTce }
  // Host driver on the DMA-API (arch/powerpc/kernel/iommu.c).
  | { op: 'dma_map'; pages: number }
  | { op: 'dma_unmap'; idx: number }
  | { op: 'unbind' }
  // The device.
  | { op: 'dma'; access: 'R' | 'W' }
  | { op: 'evict' }
  // NVLink2 GPU RAM mmap (vfio_pci_nvgpu_mmap, removed since; historical).
  | { op: 'mmap_gpu'; ua: number; pages: number };

export interface TceWorkload {
  users: Op[][];
  vcpus: Op[][];
  dma: Op[][];
  dev: Op[];
  nvgpu: Op[];
  /** Guest pages of TCE lists (H_PUT_TCE_INDIRECT). */
  lists: Record<string, GuestTce[]>;
}

const DIRS: Dir[] = ['R', 'W', 'RW'];

/** The workload of one run, from the parameters and labelled draws. */
export function drawWorkload(p: Params, data: DataPort): TceWorkload {
  const v2 = p.version === 'v2';
  const seed = p.mapPath === 'seed';
  const win = Number(p.windowPages);
  const uaPages = Number(p.uaPages);
  const ops = Number(p.opsPerThread);
  const nUsers = Number(p.userThreads);
  const int = (label: string, n: number) => data.int(label, Math.max(1, n));
  const dirOf = (label: string) => DIRS[int(label, 3)];
  // Windows the VMM maps into: the 32-bit default window [0, win) and, v2, the DDW.
  const ddw = v2 && !seed;
  const windowStart = (label: string) => (ddw && int(label, 2) === 1 ? DDW_OFFSET : 0);
  // Entries near the window's edges and level boundaries collide more often than uniform ones.
  const entryIn = (label: string, start: number) => start + int(label, win);
  // Regions the v2 VMM registers: [0, half) and [half, uaPages), sometimes an overlapping one.
  const half = Math.floor(uaPages / 2);
  const regions = [
    { ua: 0, pages: half },
    { ua: half, pages: uaPages - half },
  ];

  const users: Op[][] = [];
  for (let u = 0; u < nUsers; u++) {
    const a = `wl:user${u}`;
    const list: Op[] = [];
    if (u === 0) {
      list.push({ op: 'attach', afterUnbind: !data.chance(`${a}:attachEarly`, 0.08) });
      if (!v2) list.push({ op: 'enable' });
      else {
        list.push({ op: 'register', ...regions[0] });
        if (!seed && p.ddw && data.chance(`${a}:ddw`, 0.8)) list.push({ op: 'create', levels: Number(p.levels), pages: win });
      }
      list.push({ op: 'start_guest' });
    } else {
      list.push({ op: 'wait_guest' });
      // The second thread registers the other half (or, sometimes, a region overlapping the first).
      if (v2) list.push({ op: 'register', ...(data.chance(`${a}:overlap`, 0.2) ? { ua: 1, pages: half } : regions[1]) });
    }
    for (let k = 0; k < ops; k++) {
      const kind = int(`${a}:op${k}`, v2 ? 5 : 4);
      const start = windowStart(`${a}:win${k}`);
      const pages = 1 + int(`${a}:pages${k}`, 2);
      if (kind <= 1) list.push({ op: 'map', entry: entryIn(`${a}:entry${k}`, start), ua: int(`${a}:ua${k}`, uaPages), pages, dir: dirOf(`${a}:dir${k}`) });
      else if (kind === 2) list.push({ op: 'unmap', entry: entryIn(`${a}:entry${k}`, start), pages });
      else if (kind === 3) list.push({ op: 'munmap', ua: int(`${a}:ua${k}`, uaPages), pages: 1 });
      else list.push({ op: 'unregister', ...regions[int(`${a}:region${k}`, 2)] });
    }
    users.push(list);
  }

  const vcpus: Op[][] = [];
  const lists: Record<string, GuestTce[]> = {};
  const nVcpus = v2 && !seed ? Number(p.vcpus) : 0;
  // A guest TCE: a page and direction, or (H_PUT_TCE with 0) an unmap.
  const guestTce = (label: string): GuestTce => (data.chance(`${label}:none`, 0.15) ? { ua: null, dir: 'NONE' } : { ua: int(`${label}:ua`, uaPages), dir: dirOf(`${label}:dir`) });
  const nHcalls = Math.max(1, ops - 1);
  // Op kinds first (0 H_PUT_TCE, 1 H_PUT_TCE_INDIRECT, 2 H_STUFF_TCE, 3 a guest store into another vCPU's list page).
  const kinds = Array.from({ length: nVcpus }, (_, v) => Array.from({ length: nHcalls }, (_, k) => int(`wl:vcpu${v}:op${k}`, nVcpus > 1 ? 4 : 3)));
  const listsOf = (v: number) => kinds[v].flatMap((kind, k) => (kind === 1 ? [`L${v}.${k}`] : []));
  for (let v = 0; v < nVcpus; v++) {
    const a = `wl:vcpu${v}`;
    const list: Op[] = [];
    kinds[v].forEach((kind, k) => {
      const entry = entryIn(`${a}:entry${k}`, DDW_OFFSET);
      if (kind === 0) list.push({ op: 'h_put_tce', entry, tce: guestTce(`${a}:tce${k}`) });
      else if (kind === 1) {
        const id = `L${v}.${k}`;
        lists[id] = [guestTce(`${a}:l${k}a`), guestTce(`${a}:l${k}b`)];
        list.push({ op: 'h_put_tce_indirect', entry: DDW_OFFSET + int(`${a}:entry${k}`, win - 1), list: id, npages: 2 });
      } else if (kind === 2) list.push({ op: 'h_stuff_tce', entry, npages: 1 + int(`${a}:n${k}`, 2) });
      else {
        const other = (v + 1) % nVcpus;
        const targets = listsOf(other);
        if (targets.length === 0) list.push({ op: 'h_put_tce', entry, tce: guestTce(`${a}:tce${k}`) });
        else list.push({ op: 'rewrite', list: targets[int(`${a}:rl${k}`, targets.length)], idx: int(`${a}:ri${k}`, 2), value: { ua: null, dir: 'RW' } });
      }
    });
    vcpus.push(list);
  }

  const dma: Op[][] = [];
  for (let d = 0; d < Number(p.dmaThreads); d++) {
    const a = `wl:dma${d}`;
    const list: Op[] = [];
    const maps = 1 + int(`${a}:maps`, 2);
    for (let k = 0; k < maps; k++) list.push({ op: 'dma_map', pages: 1 + int(`${a}:pages${k}`, 2) });
    // The driver unmaps everything before it is unbound (its remove path).
    for (let k = 0; k < maps; k++) list.push({ op: 'dma_unmap', idx: k });
    list.push({ op: 'unbind' });
    dma.push(list);
  }

  const dev: Op[] = [];
  if (p.device) for (let k = 0; k < Number(p.dmaOps); k++) dev.push(data.chance(`wl:dev:evict${k}`, 0.15) ? { op: 'evict' } : { op: 'dma', access: data.chance(`wl:dev:write${k}`, 0.5) ? 'W' : 'R' });

  const nvgpu: Op[] = p.nvgpu ? [{ op: 'mmap_gpu', ua: gpuUa(p), pages: 2 }] : [];
  if (p.nvgpu && users.length > 0 && v2) {
    // The VMM registers the GPU RAM like guest RAM (QEMU's vfio_prereg_listener) and maps it.
    users[0].splice(2, 0, { op: 'register', ua: gpuUa(p), pages: 2 });
    users[0].push({ op: 'map', entry: entryIn('wl:user0:gpuEntry', 0), ua: gpuUa(p), pages: 1, dir: 'RW' }, { op: 'unmap', entry: 0, pages: win });
  }

  if (p.releaseAtEnd && users.length > 0) {
    const waitFor = [...users.map((_, i) => `tce.user${i}`).filter((_id, i) => i > 0 && users[i].length > 0), ...vcpus.map((_, i) => `tce.vcpu${i}`).filter((_, i) => vcpus[i].length > 0)];
    users[0].push({ op: 'release', waitFor });
  }
  return { users, vcpus, dma, dev, nvgpu, lists };
}
