/**
 * IOPF page-request handling (../shared/seeds/iopf-page-fault-handler.txt and today's
 * drivers/iommu/io-pgfault.c): devices issuing PRI page requests, one IOMMU with a bounded
 * page-request queue, a fault parameter per device, the iopf workqueue with its kworkers, and
 * the process whose mm the faults are handled against.
 */
import type { ActorSnapshotView, QuiescenceView } from '../../core/model/monitor.ts';
import {
  FAULT_MUTEX,
  FAULT_SPINLOCK,
  deviceKind,
  faultParamKind,
  iommuKind,
  iommufdFaultKind,
  kworkerKind,
  pasidDriverKind,
  processKind,
  vmmKind,
  workqueueKind,
} from './machines/index.ts';
import {
  groupIntegrity,
  latencyObserver,
  mmLockExclusion,
  noLostPage,
  noResponseAfterRemoval,
  noStuckPartial,
  noUseAfterFree,
  oneResponsePerLastPage,
  pasidBond,
  prqDepth,
  pteOutsideVma,
  responseMatchesRequest,
  responseMeaning,
  vmaUseAfterFree,
} from './specs/index.ts';
import { lockdep } from '../../kernel/lockdep.ts';
import { noLeak } from '../../kernel/noLeak.ts';
import { heapLeak } from '../../kernel/heapLeak.ts';
import type { LockKind } from '../../core/model/locks.ts';
import { mmShared } from '../../kernel/mm/state.ts';
import { mmModes } from '../../kernel/mm/runtime.ts';
import { PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../kernel/mm/memory.ts';
import type { ActorSpec, Scenario } from '../../core/model/scenario.ts';
import { iopfBugs } from './variants.ts';
import { mmBugs } from './mmVariants.ts';
import { type IopfWorkload, VMA_BASE, boundPasid, deviceScript, iopfWorkload, processOps } from './workload.ts';

export const iopfScenario: Scenario<IopfWorkload> = {
  name: 'iopf',
  description: 'IOPF page-request handling: PRI page requests, page-request queue, group assembly, workqueue, handle_mm_fault, page responses',
  parameters: [
    { name: 'devices', description: 'PCIe functions issuing page requests', type: 'int', default: 2, min: 1, max: 16 },
    { name: 'kworkers', description: 'kworkers of the unbound iopf workqueue', type: 'int', default: 2, min: 1, max: 16 },
    { name: 'prqDepth', description: 'page-request queue entries (small by default so overflow is reachable; VT-d 32, DSA 512)', type: 'int', default: 4, min: 1, max: 4096 },
    { name: 'groupsPerDevice', description: 'page request groups each device issues', type: 'int', default: 3, min: 0, max: 256 },
    { name: 'maxGroupSize', description: 'largest number of page requests in one group', type: 'int', default: 3, min: 1, max: 64 },
    { name: 'outstanding', description: "each device's PRI outstanding page request allocation", type: 'int', default: 8, min: 1, max: 4096 },
    { name: 'pages', description: 'pages in the process VMA the devices fault on', type: 'int', default: 8, min: 1, max: 4096 },
    { name: 'allocFailRate', description: 'probability that each kzalloc on the report path fails', type: 'number', default: 0.05, min: 0, max: 1 },
    { name: 'unboundRate', description: 'share of groups on a PASID with no domain/iopf_handler attached', type: 'number', default: 0.1, min: 0, max: 1 },
    { name: 'unrecoverableRate', description: 'chance of an unrecoverable (non page-request) fault after each request', type: 'number', default: 0.05, min: 0, max: 1 },
    { name: 'unplugRate', description: 'probability that a device is hot-unplugged during the run', type: 'number', default: 0.25, min: 0, max: 1 },
    { name: 'mmOps', description: 'munmap/mprotect/mmap calls the process makes while faults are in flight', type: 'int', default: 2, min: 0, max: 64 },
    { name: 'pasidRequired', description: 'functions require the PASID in page responses', type: 'boolean', default: true },
    { name: 'grouping', description: 'group assembly: list (scan the partial list) or map (per-grpid index)', type: 'enum', default: 'list', values: ['list', 'map'] },
    { name: 'deferred', description: 'defer handle_mm_fault to the last request (true, the kernel) or handle each partial at once (false)', type: 'boolean', default: true },
    { name: 'transport', description: 'pri: PCIe PRI page requests; stall: SMMU stall events (one fault per group, resumed by stag)', type: 'enum', default: 'pri', values: ['pri', 'stall'] },
    { name: 'privDataRate', description: 'chance that a non-last PRI request carries VT-d private data (answered on its own)', type: 'number', default: 0.05, min: 0, max: 1 },
    { name: 'rebinds', description: 'PASID unbind/rebind rounds per SVA device (an iommufd device is detached for good)', type: 'int', default: 1, min: 0, max: 16 },
    { name: 'iommufdDevices', description: 'how many of the devices (the last ones) deliver faults to userspace through an iommufd fault object', type: 'int', default: 1, min: 0, max: 16 },
    { name: 'userFaultRate', description: "chance that the VMM's read() buffer faults (copy_to_user returns -EFAULT)", type: 'number', default: 0.05, min: 0, max: 1 },
  ],
  bugs: [...iopfBugs, ...mmBugs],
  monitors: [
    lockdep,
    noLeak,
    pasidBond,
    responseMatchesRequest,
    responseMeaning,
    oneResponsePerLastPage,
    groupIntegrity,
    prqDepth,
    noResponseAfterRemoval,
    noUseAfterFree,
    heapLeak,
    noStuckPartial,
    vmaUseAfterFree,
    pteOutsideVma,
    noLostPage,
    mmLockExclusion,
  ],
  workload: iopfWorkload,
  // Variants substitute guards in the machines (their `provide`); the world applies them.
  build(p, _bug, _data, workload) {
    const nDev = Number(p.devices);
    const devs = [...Array(nDev).keys()].map((i) => `dev${i}`);
    const kworkers = [...Array(Number(p.kworkers)).keys()].map((i) => `kworker${i}`);
    const faultParams = Object.fromEntries(devs.map((d) => [d, `iopf.${d}`]));
    const drivers = Object.fromEntries(devs.map((d) => [d, `drv.${d}`]));
    const iommufdFrom = nDev - Math.min(nDev, Number(p.iommufdDevices));
    const handlerOf = (i: number) => (i >= iommufdFrom ? 'iommufd' : 'sva') as 'sva' | 'iommufd';
    const actors: ActorSpec[] = [];
    const locks: { name: string; kind: LockKind }[] = [
      { name: 'queue->lock', kind: 'mutex' },
      { name: FAULT_MUTEX, kind: 'mutex' },
      { name: FAULT_SPINLOCK, kind: 'spinlock' },
    ];
    devs.forEach((dev, i) => {
      const w = workload.devices[i];
      actors.push({
        id: dev,
        kind: deviceKind,
        input: { id: dev, iommu: 'iommu', driver: drivers[dev], pasid: boundPasid(i), script: deviceScript(dev, i, w, p), limit: Number(p.outstanding), unplugAfter: w.unplugAfter, stopMode: w.stop },
      });
    });
    actors.push({ id: 'iommu', kind: iommuKind, input: { id: 'iommu', depth: Number(p.prqDepth), faultParams, drivers } });
    devs.forEach((dev, i) => {
      const handles = { [boundPasid(i)]: { gen: 0, handler: handlerOf(i) } };
      actors.push({
        id: faultParams[dev],
        kind: faultParamKind,
        input: { id: faultParams[dev], dev, iommu: 'iommu', wq: 'wq', iommufd: 'iommufd', handles, grouping: p.grouping, deferred: Boolean(p.deferred) },
      });
      locks.push({ name: `${dev}:param->lock`, kind: 'mutex' }, { name: `${dev}:fault_param->lock`, kind: 'mutex' });
      const rebinds = handlerOf(i) === 'iommufd' ? Math.min(1, Number(p.rebinds)) : Number(p.rebinds);
      actors.push({
        id: drivers[dev],
        kind: pasidDriverKind,
        input: { id: drivers[dev], dev, pasid: boundPasid(i), handler: handlerOf(i), iommu: 'iommu', faultParam: faultParams[dev], wq: 'wq', iommufd: 'iommufd', rebinds },
      });
    });
    actors.push({ id: 'wq', kind: workqueueKind, input: { id: 'wq', kworkers } });
    for (const k of kworkers) actors.push({ id: k, kind: kworkerKind, input: { id: k, wq: 'wq', faultParams } });
    if (iommufdFrom < nDev) {
      actors.push({ id: 'iommufd', kind: iommufdFaultKind, input: { id: 'iommufd', vmm: 'vmm', faultParams } });
      const detaching = Number(p.rebinds) > 0 ? nDev - iommufdFrom : 0;
      actors.push({ id: 'vmm', kind: vmmKind, input: { id: 'vmm', fault: 'iommufd', devices: detaching } });
    }
    actors.push({ id: 'proc', kind: processKind, input: { id: 'proc', ops: processOps(workload.process) } });
    const pages = Number(p.pages);
    return {
      actors,
      locks,
      shared: (env) => mmShared(env, [{ start: VMA_BASE, end: VMA_BASE + pages * PAGE_SIZE, prot: PROT_READ | PROT_WRITE }]),
    };
  },
  stepEstimate(p) {
    const requests = Number(p.devices) * Number(p.groupsPerDevice) * ((Number(p.maxGroupSize) + 1) / 2);
    return Math.max(20, Math.round(requests * 9 + Number(p.mmOps) * 4));
  },
  metrics(q: QuiescenceView) {
    const of = (kind: string) => Object.values(q.actors).filter((a: ActorSnapshotView) => a.kind === kind);
    const sum = (kind: string, field: string) => of(kind).reduce((s, a) => s + Number(a.context[field] ?? 0), 0);
    return {
      groupLookupSteps: sum('iopf.faultParam', 'lookupSteps'),
      groupsQueued: sum('iopf.workqueue', 'queued'),
      responses: sum('iopf.device', 'responses'),
      failureResponses: sum('iopf.device', 'failures'),
      prqOverflows: sum('iopf.iommu', 'overflows'),
      maxPrqOccupancy: Math.max(0, ...of('iopf.iommu').map((a) => Number(a.context.maxOccupancy))),
      iommufdDelivered: sum('iopf.iommufdFault', 'delivered'),
      iommufdRejectedWrites: sum('iopf.iommufdFault', 'rejected'),
      stopMarkers: sum('iopf.device', 'markers'),
    };
  },
  observer: latencyObserver,
  // handle_mm_fault in kworker threads: one thread per kworker.
  modes: mmModes((p) => Number(p.kworkers)),
  derive(t): Record<string, number> {
    return t.answeredRequests ? { meanResponseLatency: Math.round((t.responseLatencySum / t.answeredRequests) * 100) / 100 } : {};
  },
};
