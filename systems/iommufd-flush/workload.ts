/**
 * The workload as data: each actor's operations (VMM ioctls, access-driver calls, CPU loads and
 * stores, device DMA counts), either a named preset (the canonical schedules of the research note:
 * the cost table's S1..S6 and each variant's interleaving) or drawn from the run's data source
 * (`random`, labels `vmm:<t>:…`, `access:<a>:…`), so it is recorded in the schedule and shrinkable.
 * A hand-written workload of the same shape drives the same machines.
 */
import type { DataPort } from '../../core/model/kind.ts';
import type { Params } from '../../core/model/scenario.ts';
import type { AccessOp, CpuOp, FlushWorkload, VmmOp } from './machines/ops.ts';

/** The IOVA space the random workload uses, in pages (unmap-all covers it). */
export const IOVA_SPACE = 64;

export const PRESETS = [
  'random',
  'attach-map-unmap',
  'nc-after-map',
  'two-nc',
  'nc-late',
  'copy-below',
  'split-attach',
  'access-detach',
  'carry',
  'unmap-race',
  'unpin-race',
  'destroy-race',
  'two-domains-map',
  'failed-fill',
  'storage-handover',
] as const;
export type Preset = (typeof PRESETS)[number];

export const PFN_LAYOUTS = ['runs:1', 'runs:2', 'runs:4', 'carry'] as const;

/** uptr page -> page frame. `runs:n`: runs of n physically contiguous frames; `carry`: 100-102, 200, then runs of 2. */
export function pfnLayout(layout: string, pages: number): number[] {
  const out: number[] = [];
  if (layout === 'carry') {
    const head = [100, 101, 102, 200];
    for (let i = 0; i < pages; i++) out.push(i < head.length ? head[i] : 300 + 100 * Math.floor((i - head.length) / 2) + ((i - head.length) % 2));
    return out;
  }
  const n = Number(layout.split(':')[1] ?? 1);
  for (let i = 0; i < pages; i++) out.push(100 * (Math.floor(i / n) + 1) + (i % n));
  return out;
}

const sig = (flag: string) => ({ op: 'signal' as const, flag });
const wait = (flag: string) => ({ op: 'wait' as const, flag });
const touch = (uptr: number, len: number): VmmOp => ({ op: 'touch', uptr, len, write: true });
const attach = (hwpt: string, nc: boolean, dev: string | null = null, ioas = 0): VmmOp => ({ op: 'attach', hwpt, ioas, nc, dev });
const detach = (hwpt: string): VmmOp => ({ op: 'detach', hwpt });
const map = (iova: number, uptr: number, len: number, ioas = 0): VmmOp => ({ op: 'map', ioas, iova, uptr, len });
const unmap = (iova: number, len: number, ioas = 0): VmmOp => ({ op: 'unmap', ioas, iova, len });

function randomCpu(p: Params): CpuOp[][] {
  return [...Array(Number(p.cpuWriters)).keys()].map(() => Array(Number(p.cpuOps)).fill({ op: 'random' }));
}

function devices(n: number, p: Params): { dmaOps: number }[] {
  return [...Array(n).keys()].map(() => ({ dmaOps: Number(p.dmaOps) }));
}

/** The canonical schedules; `random` is drawn. */
export function presetWorkload(name: Preset, p: Params): FlushWorkload {
  const cpu = randomCpu(p);
  switch (name) {
    case 'attach-map-unmap': // S1
      return { vmm: [[attach('N', true, 'dev0'), map(0, 0, 4), unmap(0, 4), detach('N')]], access: [], cpu, dev: devices(1, p) };
    case 'nc-after-map': // S2
      return { vmm: [[attach('C', false, 'dev0'), map(0, 0, 4), attach('N', true, 'dev1'), touch(0, 4), detach('N'), unmap(0, 4), detach('C')]], access: [], cpu, dev: devices(2, p) };
    case 'two-nc': // S3
      return { vmm: [[attach('N1', true, 'dev0'), attach('N2', true, 'dev1'), map(0, 0, 4), unmap(0, 4), detach('N1'), detach('N2')]], access: [], cpu, dev: devices(2, p) };
    case 'nc-late': // S3'
      return { vmm: [[attach('N1', true, 'dev0'), map(0, 0, 4), attach('N2', true, 'dev1'), unmap(0, 4), detach('N2'), detach('N1')]], access: [], cpu, dev: devices(2, p) };
    case 'copy-below': // S4: COPY makes A' over P[2..3] below A; iopt_fill_domain fills A' first.
      return {
        vmm: [[map(4, 0, 4), { op: 'copy', src: { ioas: 0, iova: 6, len: 2 }, dst: { ioas: 0, iova: 0 } }, attach('N', true, 'dev0'), unmap(0, 2), unmap(4, 4), detach('N')]],
        access: [],
        cpu,
        dev: devices(1, p),
      };
    case 'split-attach': // S5: vfio-compat split, then a non-coherent domain fills both halves.
      return {
        vmm: [[{ op: 'setType1', ioas: 0 }, attach('C', false), map(0, 0, 6), { op: 'vfioUnmap', ioas: 0, iova: 2, len: 2 }, attach('N', true, 'dev0'), unmap(0, IOVA_SPACE), detach('N'), detach('C')]],
        access: [],
        cpu,
        dev: devices(1, p),
      };
    case 'access-detach': // S6
      return {
        vmm: [[attach('N', true, 'dev0'), map(0, 0, 4), sig('mapped'), wait('pinned'), detach('N'), sig('detached'), wait('unpinned'), unmap(0, 4)]],
        access: [[wait('mapped'), { op: 'create', ioas: 0 }, { op: 'pin', iova: 1, len: 2 }, { op: 'rw', iova: 1, len: 2, write: true }, sig('pinned'), wait('detached'), { op: 'unpin', iova: 1, len: 2 }, sig('unpinned'), { op: 'destroy' }]],
        cpu,
        dev: devices(1, p),
      };
    case 'carry': // the last domain leaves while an access holds index 1 of 100-102,200
      return {
        vmm: [[attach('C', false), map(0, 0, 4), sig('mapped'), wait('pinned'), detach('C'), sig('detached'), wait('unpinned'), unmap(0, 4)]],
        access: [[wait('mapped'), { op: 'create', ioas: 0 }, { op: 'pin', iova: 1, len: 1 }, sig('pinned'), wait('detached'), { op: 'unpin', iova: 1, len: 1 }, sig('unpinned'), { op: 'destroy' }]],
        cpu,
        dev: [],
      };
    case 'unmap-race': // two unmaps of an area an access pins
      return {
        vmm: [[map(0, 0, 2), sig('mapped'), wait('pinned'), unmap(0, 2)], [wait('pinned'), unmap(0, 2), unmap(0, 2)]],
        access: [[wait('mapped'), { op: 'create', ioas: 0 }, { op: 'pin', iova: 0, len: 2 }, sig('pinned')]],
        cpu,
        dev: [],
      };
    case 'unpin-race': // an access unpins while the area is unmapped
      return {
        vmm: [[map(0, 0, 2), sig('mapped'), wait('pinned'), unmap(0, 2), unmap(0, 2)]],
        access: [[wait('mapped'), { op: 'create', ioas: 0 }, { op: 'pin', iova: 0, len: 2 }, sig('pinned'), { op: 'unpin', iova: 0, len: 2 }, { op: 'destroy' }]],
        cpu,
        dev: [],
      };
    case 'destroy-race': // userspace IOMMU_DESTROY of the driver's access object
      return {
        vmm: [[wait('created'), { op: 'destroy', obj: 'access0' }]],
        access: [[{ op: 'create', ioas: 0 }, sig('created'), { op: 'destroy' }]],
        cpu: [],
        dev: [],
      };
    case 'two-domains-map': // MAP into two domains, the second iommu_map failing (failNth)
      return { vmm: [[attach('N', true, 'dev0'), attach('C', false), map(0, 0, 4), unmap(0, 4), detach('C'), detach('N')]], access: [], cpu, dev: devices(1, p) };
    case 'failed-fill': // attach N fails in its fill (failNth), then N2 attaches
      return { vmm: [[map(0, 0, 4), attach('N', true, 'dev0'), attach('N2', true, 'dev1'), unmap(0, 4), detach('N2')]], access: [], cpu, dev: devices(2, p) };
    case 'storage-handover': // the storage domain moves from N to C, then N2 fills from C
      return { vmm: [[attach('N', true, 'dev0'), attach('C', false), map(0, 0, 4), detach('N'), touch(0, 4), attach('N2', true, 'dev1'), unmap(0, 4), detach('N2'), detach('C')]], access: [], cpu, dev: devices(2, p) };
    case 'random':
      throw new Error('random is drawn, not a preset');
  }
}

interface SimArea {
  ioas: number;
  iova: number;
  len: number;
  /** The flag the VMM signals once its map (or copy) of this area returned. */
  flag: string;
}

/**
 * A random workload: each VMM thread attaches and detaches HWPTs (coherent or not), maps, copies,
 * unmaps and vfio-unmaps, touches its memory, and at the end unmaps everything and detaches what it
 * attached; each access driver creates an access, pins ranges the VMMs map, writes them, unpins and
 * destroys it; CPU threads and devices act at run time.
 */
export function randomWorkload(p: Params, data: DataPort): FlushWorkload {
  const U = Number(p.pages);
  const K = Number(p.ioas);
  const V = Number(p.vmmThreads);
  const A = Number(p.accessDrivers);
  const D = Number(p.devices);
  const disable = Boolean(p.disableLargePages);
  const vmm: VmmOp[][] = [];
  const allAreas: SimArea[] = [];
  for (let t = 0; t < V; t++) {
    const ioas = t % K;
    const ops: VmmOp[] = [];
    const areas: SimArea[] = [];
    const hwpts: string[] = [];
    const myDevs = [...Array(D).keys()].filter((d) => d % V === t).map((d) => `dev${d}`);
    const freeDevs = [...myDevs];
    const devOf: Record<string, string | null> = {};
    let nHwpt = 0;
    const made: SimArea[] = [];
    const freeIova = (len: number, at: number): number | null => {
      for (let k = 0; k < IOVA_SPACE / 8; k++) {
        const iova = ((at + k) % (IOVA_SPACE / 8)) * 8;
        if (!areas.some((a) => a.iova < iova + len && iova < a.iova + a.len)) return iova;
      }
      return null;
    };
    for (let i = 0; i < Number(p.randomOps); i++) {
      const kinds: string[] = ['map', 'touch'];
      if (hwpts.length < 2) kinds.push('attach', 'attach');
      if (hwpts.length) kinds.push('detach');
      if (areas.length) kinds.push('copy', 'unmap', 'map');
      if (areas.length && disable) kinds.push('vfioUnmap');
      if (!disable) kinds.push('setType1');
      if (A > 0 && data.chance(`vmm:${t}:destroyAccess`, 0.1)) kinds.push('destroy');
      const kind = kinds[data.int(`vmm:${t}:op`, kinds.length)];
      switch (kind) {
        case 'attach': {
          const hwpt = `H${t}.${nHwpt++}`;
          const nc = data.chance(`vmm:${t}:nc`, 0.5);
          const dev = freeDevs.shift() ?? null;
          devOf[hwpt] = dev;
          hwpts.push(hwpt);
          ops.push(attach(hwpt, nc, dev, ioas));
          break;
        }
        case 'detach': {
          const hwpt = hwpts.splice(data.int(`vmm:${t}:hwpt`, hwpts.length), 1)[0];
          if (devOf[hwpt]) freeDevs.push(devOf[hwpt]!);
          ops.push(detach(hwpt));
          break;
        }
        case 'map': {
          const len = 1 + data.int(`vmm:${t}:len`, Math.min(4, U));
          const uptr = data.int(`vmm:${t}:uptr`, U - len + 1);
          const iova = freeIova(len, data.int(`vmm:${t}:iova`, IOVA_SPACE / 8));
          if (iova === null) break;
          const flag = `vmm${t}.map${i}`;
          areas.push({ ioas, iova, len, flag });
          ops.push(map(iova, uptr, len, ioas), sig(flag));
          break;
        }
        case 'copy': {
          const a = areas[data.int(`vmm:${t}:area`, areas.length)];
          const off = data.int(`vmm:${t}:off`, a.len);
          const len = 1 + data.int(`vmm:${t}:len`, a.len - off);
          const dstIoas = K > 1 ? data.int(`vmm:${t}:dstIoas`, K) : ioas;
          const iova = freeIova(len, data.int(`vmm:${t}:iova`, IOVA_SPACE / 8));
          if (iova === null) break;
          const flag = `vmm${t}.copy${i}`;
          if (dstIoas === ioas) areas.push({ ioas, iova, len, flag });
          else allAreas.push({ ioas: dstIoas, iova, len, flag });
          ops.push({ op: 'copy', src: { ioas, iova: a.iova + off, len }, dst: { ioas: dstIoas, iova } }, sig(flag));
          break;
        }
        case 'unmap': {
          const i = data.int(`vmm:${t}:area`, areas.length);
          const a = areas.splice(i, 1)[0];
          made.push(a);
          ops.push(unmap(a.iova, a.len, ioas));
          break;
        }
        case 'vfioUnmap': {
          const i = data.int(`vmm:${t}:area`, areas.length);
          const a = areas[i];
          const off = data.int(`vmm:${t}:off`, a.len);
          const len = 1 + data.int(`vmm:${t}:len`, a.len - off);
          areas.splice(i, 1);
          if (off) areas.push({ ioas, iova: a.iova, len: off, flag: a.flag });
          if (off + len < a.len) areas.push({ ioas, iova: a.iova + off + len, len: a.len - off - len, flag: a.flag });
          ops.push({ op: 'vfioUnmap', ioas, iova: a.iova + off, len });
          break;
        }
        case 'touch': {
          const uptr = data.int(`vmm:${t}:uptr`, U);
          ops.push({ op: 'touch', uptr, len: 1, write: data.chance(`vmm:${t}:write`, 0.7) });
          break;
        }
        case 'setType1':
          ops.push({ op: 'setType1', ioas });
          break;
        case 'destroy':
          ops.push({ op: 'destroy', obj: `access${data.int(`vmm:${t}:obj`, A)}` });
          break;
      }
    }
    // Every area this thread ever made, for the access drivers to pin (some are gone by then).
    allAreas.push(...areas, ...made);
    // Teardown: unmap everything, detach what is left (as closing the fd would).
    ops.push(unmap(0, IOVA_SPACE, ioas));
    for (const h of hwpts) ops.push(detach(h));
    vmm.push(ops);
  }
  const access: AccessOp[][] = [];
  for (let a = 0; a < A; a++) {
    const ioas = a % K;
    const mine = allAreas.filter((x) => x.ioas === ioas);
    const ops: AccessOp[] = [{ op: 'create', ioas }];
    for (let r = 0; r < 2; r++) {
      let iova: number;
      let len: number;
      if (mine.length) {
        const x = mine[data.int(`access:${a}:area`, mine.length)];
        const off = data.int(`access:${a}:off`, x.len);
        iova = x.iova + off;
        len = 1 + data.int(`access:${a}:len`, x.len - off);
        ops.push(wait(x.flag));
      } else {
        iova = 8 * data.int(`access:${a}:slot`, 4);
        len = 1;
      }
      ops.push({ op: 'pin', iova, len }, { op: 'rw', iova, len, write: true }, { op: 'unpin', iova, len });
    }
    ops.push({ op: 'destroy' });
    access.push(ops);
  }
  return { vmm, access, cpu: randomCpu(p), dev: devices(D, p) };
}

export function drawWorkload(p: Params, data: DataPort): FlushWorkload {
  const name = String(p.workload) as Preset;
  return name === 'random' ? randomWorkload(p, data) : presetWorkload(name, p);
}
