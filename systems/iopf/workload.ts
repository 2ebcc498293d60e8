/**
 * The devices' page-request scripts and the process's address-space changes, drawn from the
 * run's data source (so they are recorded in the schedule and shrinkable).
 */
import type { DataPort } from '../../core/model/kind.ts';
import type { MmOp } from './machines/process.ts';
import type { PageRequest } from './machines/types.ts';
import { PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../kernel/mm/memory.ts';
import type { Params } from '../../core/model/scenario.ts';

export const VMA_BASE = 0x10000;
/** Group indexes come from a small pool so they are reused, as PRG indexes are. */
const GRPID_POOL = 4;
/** At most this many groups of one device are being built at once (interleaved). */
const OPEN_GROUPS = 2;

export interface DeviceWorkload {
  pasid: number;
  script: PageRequest[];
  unplugAfter: number | null;
  stopMode: 'wait' | 'marker';
}

export function boundPasid(devIndex: number): number {
  return 1 + devIndex;
}

export function unboundPasid(devIndex: number): number {
  return 100 + devIndex;
}

export function deviceWorkload(dev: string, devIndex: number, p: Params, data: DataPort): DeviceWorkload {
  const stall = p.transport === 'stall';
  // An SMMU stall is a single fault: every group has one request and its grpid is the stall tag.
  const maxGroup = stall ? 1 : Math.min(Number(p.maxGroupSize), Number(p.outstanding));
  let n = 0;
  const mkReq = (grpid: number, pasid: number, last: boolean): PageRequest => ({
    reqId: `${dev}#${n++}`,
    dev,
    kind: 'page-req',
    transport: stall ? 'stall' : 'pri',
    bond: 0,
    pasid,
    pasidValid: true,
    grpid,
    // One page past the VMA now and then: the fault must come back INVALID.
    addr: VMA_BASE + data.int(`workload:${dev}:page`, Number(p.pages) + 1) * PAGE_SIZE,
    perm: data.chance(`workload:${dev}:write`, 0.5) ? PROT_READ | PROT_WRITE : PROT_READ,
    last,
    // VT-d: a request with private data needs its own answer even when it is not the last.
    privData: !stall && !last && data.chance(`workload:${dev}:privData`, Number(p.privDataRate)),
    needsPasid: !stall && Boolean(p.pasidRequired),
  });

  interface Building {
    grpid: number;
    pasid: number;
    left: number;
  }
  const script: PageRequest[] = [];
  const open: Building[] = [];
  let toStart = Number(p.groupsPerDevice);
  while (toStart > 0 || open.length > 0) {
    if (toStart > 0 && open.length < OPEN_GROUPS && (open.length === 0 || data.chance(`workload:${dev}:open`, 0.5))) {
      const free = [...Array(GRPID_POOL).keys()].filter((g) => !open.some((o) => o.grpid === g));
      const grpid = free[data.int(`workload:${dev}:grpid`, free.length)];
      const unbound = data.chance(`workload:${dev}:unbound`, Number(p.unboundRate));
      const size = 1 + data.int(`workload:${dev}:size`, maxGroup);
      open.push({ grpid, pasid: unbound ? unboundPasid(devIndex) : boundPasid(devIndex), left: size });
      toStart--;
    }
    const g = open[data.int(`workload:${dev}:next`, open.length)];
    g.left--;
    script.push(mkReq(g.grpid, g.pasid, g.left === 0));
    if (g.left === 0) open.splice(open.indexOf(g), 1);
    if (data.fault(`workload:${dev}:unrecoverable`, Number(p.unrecoverableRate))) {
      script.push({ ...mkReq(0, boundPasid(devIndex), false), kind: 'unrecoverable' });
    }
  }
  const unplug = data.fault(`workload:${dev}:unplug`, Number(p.unplugRate));
  const unplugAfter = unplug ? data.int(`workload:${dev}:unplugAfter`, script.length + 1) : null;
  const stopMode = data.chance(`workload:${dev}:stopMarker`, 0.5) ? 'marker' : 'wait';
  return { pasid: boundPasid(devIndex), script, unplugAfter, stopMode };
}

export function processOps(p: Params, data: DataPort): MmOp[] {
  const ops: MmOp[] = [];
  const pages = Number(p.pages);
  for (let i = 0; i < Number(p.mmOps); i++) {
    const kind = (['munmap', 'mprotect', 'mmap'] as const)[data.int('process:op', 3)];
    const first = data.int('process:page', pages);
    const len = (1 + data.int('process:len', 2)) * PAGE_SIZE;
    ops.push({ op: kind, start: VMA_BASE + first * PAGE_SIZE, len, prot: kind === 'mprotect' ? PROT_READ : PROT_READ | PROT_WRITE });
  }
  return ops;
}
