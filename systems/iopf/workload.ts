/**
 * The IOPF workload: what each device issues (its page-request script, whether and when it is
 * unplugged, how it stops) and the process's address-space changes. It is plain data in the
 * vocabulary a workload file uses (docs/iopf.md "Hand-written workloads"): drawn from the run's
 * data source by `drawWorkload` (so recorded in the schedule and shrinkable), or written by hand
 * and validated by `workloadSchema` (valibot). `build` expands it with the parameters
 * (`deviceScript`, `processOps`).
 */
import * as v from 'valibot';
import type { DataPort } from '../../core/model/kind.ts';
import type { Params } from '../../core/model/scenario.ts';
import type { WorkloadSpec } from '../../core/model/workload.ts';
import type { MmOp } from './machines/process.ts';
import type { PageRequest } from './machines/types.ts';
import { PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../kernel/mm/memory.ts';

export const VMA_BASE = 0x10000;
/** Group indexes come from a small pool so they are reused, as PRG indexes are. */
const GRPID_POOL = 4;
/** At most this many groups of one device are being built at once (interleaved). */
const OPEN_GROUPS = 2;
/** PCIe PRI's Page Request Group Index is 9 bits. */
export const MAX_GRPID = 511;

/** One request a device issues, in the workload's vocabulary. */
export interface RequestSpec {
  /** page-req: a PRI page request (or SMMU stall); unrecoverable: a non page-request fault. */
  kind: 'page-req' | 'unrecoverable';
  /** Page Request Group Index (the stall tag with transport=stall). */
  grpid: number;
  /** Page of the process VMA, 0 .. pages-1; `pages` is one past its end (answered INVALID). */
  page: number;
  write: boolean;
  /** Last request of its group (LAST_PAGE). */
  last: boolean;
  /** bound: the PASID with a domain and an iopf handler; unbound: a PASID with none attached. */
  pasid: 'bound' | 'unbound';
  /** VT-d private data (answered on its own even when not last); PRI only. */
  privData: boolean;
}

export interface DeviceSpec {
  requests: RequestSpec[];
  /** Hot-unplugged after issuing this many requests (0: before the first), or never (null). */
  unplugAfter: number | null;
  /** How the driver stops the PASID on unbind: wait for outstanding requests, or a Stop Marker. */
  stop: 'wait' | 'marker';
}

export interface ProcessOpSpec {
  op: MmOp['op'];
  /** First page of the VMA the call covers, and how many pages (1 or 2 when drawn). */
  page: number;
  pages: number;
}

export interface IopfWorkload {
  devices: DeviceSpec[];
  process: ProcessOpSpec[];
}

export function boundPasid(devIndex: number): number {
  return 1 + devIndex;
}

export function unboundPasid(devIndex: number): number {
  return 100 + devIndex;
}

/** The data choices of one device's workload (the labels and order of the draws are the schedule's). */
export function drawDevice(dev: string, p: Params, data: DataPort): DeviceSpec {
  const stall = p.transport === 'stall';
  // An SMMU stall is a single fault: every group has one request and its grpid is the stall tag.
  const maxGroup = stall ? 1 : Math.min(Number(p.maxGroupSize), Number(p.outstanding));
  const mkReq = (grpid: number, pasid: RequestSpec['pasid'], last: boolean): RequestSpec => {
    // One page past the VMA now and then: the fault must come back INVALID.
    const page = data.int(`workload:${dev}:page`, Number(p.pages) + 1);
    const write = data.chance(`workload:${dev}:write`, 0.5);
    // VT-d: a request with private data needs its own answer even when it is not the last.
    const privData = !stall && !last && data.chance(`workload:${dev}:privData`, Number(p.privDataRate));
    return { kind: 'page-req', grpid, page, write, last, pasid, privData };
  };

  interface Building {
    grpid: number;
    pasid: RequestSpec['pasid'];
    left: number;
  }
  const requests: RequestSpec[] = [];
  const open: Building[] = [];
  let toStart = Number(p.groupsPerDevice);
  while (toStart > 0 || open.length > 0) {
    if (toStart > 0 && open.length < OPEN_GROUPS && (open.length === 0 || data.chance(`workload:${dev}:open`, 0.5))) {
      const free = [...Array(GRPID_POOL).keys()].filter((g) => !open.some((o) => o.grpid === g));
      const grpid = free[data.int(`workload:${dev}:grpid`, free.length)];
      const unbound = data.chance(`workload:${dev}:unbound`, Number(p.unboundRate));
      const size = 1 + data.int(`workload:${dev}:size`, maxGroup);
      open.push({ grpid, pasid: unbound ? 'unbound' : 'bound', left: size });
      toStart--;
    }
    const g = open[data.int(`workload:${dev}:next`, open.length)];
    g.left--;
    requests.push(mkReq(g.grpid, g.pasid, g.left === 0));
    if (g.left === 0) open.splice(open.indexOf(g), 1);
    if (data.fault(`workload:${dev}:unrecoverable`, Number(p.unrecoverableRate))) {
      requests.push({ ...mkReq(0, 'bound', false), kind: 'unrecoverable' });
    }
  }
  const unplug = data.fault(`workload:${dev}:unplug`, Number(p.unplugRate));
  const unplugAfter = unplug ? data.int(`workload:${dev}:unplugAfter`, requests.length + 1) : null;
  const stop = data.chance(`workload:${dev}:stopMarker`, 0.5) ? 'marker' : 'wait';
  return { requests, unplugAfter, stop };
}

export function drawProcess(p: Params, data: DataPort): ProcessOpSpec[] {
  const ops: ProcessOpSpec[] = [];
  const pages = Number(p.pages);
  for (let i = 0; i < Number(p.mmOps); i++) {
    const op = (['munmap', 'mprotect', 'mmap'] as const)[data.int('process:op', 3)];
    const page = data.int('process:page', pages);
    ops.push({ op, page, pages: 1 + data.int('process:len', 2) });
  }
  return ops;
}

/** A whole run's workload, drawn in the order the world used to draw it while building. */
export function drawWorkload(p: Params, data: DataPort): IopfWorkload {
  const devices = [...Array(Number(p.devices)).keys()].map((i) => drawDevice(`dev${i}`, p, data));
  return { devices, process: drawProcess(p, data) };
}

/** A device's page requests as the device machine issues them. */
export function deviceScript(dev: string, devIndex: number, d: DeviceSpec, p: Params): PageRequest[] {
  const stall = p.transport === 'stall';
  return d.requests.map((r, n) => ({
    reqId: `${dev}#${n}`,
    dev,
    kind: r.kind,
    transport: stall ? 'stall' : 'pri',
    bond: 0,
    pasid: r.pasid === 'unbound' ? unboundPasid(devIndex) : boundPasid(devIndex),
    pasidValid: true,
    grpid: r.grpid,
    addr: VMA_BASE + r.page * PAGE_SIZE,
    perm: r.write ? PROT_READ | PROT_WRITE : PROT_READ,
    last: r.kind === 'page-req' && r.last,
    privData: !stall && r.privData,
    needsPasid: !stall && Boolean(p.pasidRequired),
  }));
}

export function processOps(ops: ProcessOpSpec[]): MmOp[] {
  return ops.map((o) => ({ op: o.op, start: VMA_BASE + o.page * PAGE_SIZE, len: o.pages * PAGE_SIZE, prot: o.op === 'mprotect' ? PROT_READ : PROT_READ | PROT_WRITE }));
}

// The file vocabulary. Optional fields take the value a drawn workload most often has; unknown
// fields are refused (a typo must not silently mean the default).
/** An object with exactly these fields; an unknown one is named with the allowed ones. */
const strict = <E extends v.ObjectEntries>(entries: E) =>
  v.strictObject(entries, (issue) =>
    issue.expected === 'never' ? `unknown field ${issue.received}; allowed fields: ${Object.keys(entries).join(', ')}` : `Invalid ${issue.received === 'undefined' ? 'key' : 'type'}: Expected ${issue.expected} but received ${issue.received}`,
  );
const count = (max: number) => v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(max));
const requestSchema = strict({
  kind: v.optional(v.picklist(['page-req', 'unrecoverable']), 'page-req'),
  grpid: v.optional(count(MAX_GRPID), 0),
  page: count(4096),
  write: v.optional(v.boolean(), false),
  last: v.optional(v.boolean(), false),
  pasid: v.optional(v.picklist(['bound', 'unbound']), 'bound'),
  privData: v.optional(v.boolean(), false),
});
const deviceSchema = strict({
  requests: v.pipe(v.array(requestSchema), v.maxLength(4096)),
  unplugAfter: v.optional(v.nullable(count(4096)), null),
  stop: v.optional(v.picklist(['wait', 'marker']), 'wait'),
});
const processOpSchema = strict({
  op: v.picklist(['munmap', 'mprotect', 'mmap']),
  page: count(4096),
  pages: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(4096)), 1),
});
export const workloadSchema = strict({
  devices: v.pipe(v.array(deviceSchema), v.minLength(1), v.maxLength(16)),
  process: v.optional(v.pipe(v.array(processOpSchema), v.maxLength(64)), []),
});

/** What the schema cannot see: the workload against the parameters. */
export function checkWorkload(w: IopfWorkload, p: Params): string | null {
  const devices = Number(p.devices);
  if (w.devices.length !== devices) {
    return `workload.devices: ${w.devices.length} device(s) but parameter devices is ${devices}; leave devices unset (the workload sets it) or make them agree`;
  }
  const pages = Number(p.pages);
  for (const [i, d] of w.devices.entries()) {
    for (const [j, r] of d.requests.entries()) {
      if (r.page > pages) return `workload.devices[${i}].requests[${j}].page: ${r.page} is not allowed; a page from 0 to ${pages - 1} of the VMA, or ${pages} (one past its end, answered INVALID)`;
      if (p.transport === 'stall' && r.kind === 'page-req' && !r.last) return `workload.devices[${i}].requests[${j}].last: false is not allowed with transport=stall; a stall is one fault per group, so every request is last`;
    }
    if (d.unplugAfter !== null && d.unplugAfter > d.requests.length) {
      return `workload.devices[${i}].unplugAfter: ${d.unplugAfter} is not allowed; a number of requests from 0 to ${d.requests.length}, or null (never unplugged)`;
    }
  }
  for (const [i, o] of w.process.entries()) {
    // The call may run past the VMA's end (Linux allows it); it must start inside.
    if (o.page >= pages) return `workload.process[${i}].page: ${o.page} is not allowed; a page from 0 to ${pages - 1} of the VMA`;
  }
  if (w.process.length !== Number(p.mmOps)) {
    return `workload.process: ${w.process.length} operation(s) but parameter mmOps is ${Number(p.mmOps)}; leave mmOps unset (the workload sets it) or make them agree`;
  }
  return null;
}

export const iopfWorkload: WorkloadSpec<IopfWorkload> = {
  schema: workloadSchema,
  draw: drawWorkload,
  check: checkWorkload,
  implies: (w) => ({ devices: w.devices.length, mmOps: w.process.length }),
  vocabulary:
    'devices: one entry per device, { requests: [{ kind: page-req|unrecoverable, grpid, page, write, last, pasid: bound|unbound, privData }], unplugAfter: n|null, stop: wait|marker }; process: [{ op: munmap|mprotect|mmap, page, pages }] (docs/iopf.md "Hand-written workloads")',
};
