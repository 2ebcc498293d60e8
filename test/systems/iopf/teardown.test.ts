/** PASID teardown, iommufd fault queue, stop markers, private data, stall: by transitions alone. */
import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { deviceKind, deviceMachine } from '../../../systems/iopf/machines/device.ts';
import { faultParamMachine } from '../../../systems/iopf/machines/faultParam.ts';
import { iommuKind, iommuMachine } from '../../../systems/iopf/machines/iommu.ts';
import { iommufdFaultKind, iommufdFaultMachine } from '../../../systems/iopf/machines/iommufdFault.ts';
import { pasidDriverMachine } from '../../../systems/iopf/machines/pasidDriver.ts';
import { workqueueKind, workqueueMachine } from '../../../systems/iopf/machines/workqueue.ts';
import type { IopfGroup, PageRequest } from '../../../systems/iopf/machines/types.ts';
import { pageReq } from '../../helpers.ts';
import { withVariant } from './variant.ts';

const req = pageReq;
type Act = { type: string; params?: Record<string, unknown> };
const sends = (acts: unknown[]) => (acts as Act[]).filter((a) => a.type === 'send').map((a) => a.params as { to: string; type: string; payload: Record<string, unknown> });
const observed = (acts: unknown[], what: string) => (acts as Act[]).filter((a) => a.type === 'observe' && a.params?.what === what).map((a) => a.params);
const view = { canTake: () => true, shared: <T>(): T => { throw new Error('no shared state in a machine test'); } };

describe('PASID driver: stop, drain, flush, detach, rebind', () => {
  const driver = (bug: string | null = null, handler: 'sva' | 'iommufd' = 'sva') =>
    initialTransition(withVariant(pasidDriverMachine, bug), { id: 'drv.dev0', dev: 'dev0', pasid: 1, handler, iommu: 'iommu', faultParam: 'iopf.dev0', wq: 'wq', iommufd: 'iommufd', rebinds: 1 })[0];
  const walk = (s: ReturnType<typeof driver>, events: string[]) => {
    const out: string[] = [];
    for (const type of events) {
      const [n, acts] = transition(s.machine, s, { type } as never);
      s = n;
      out.push(...sends(acts).map((x) => `${x.to}:${x.type}`));
    }
    return { s, out };
  };

  it('follows the kernel order and resumes the device on the next binding', () => {
    const { s, out } = walk(driver(), ['UNBIND', 'PASID_STOPPED', 'PASID_DRAINED', 'FLUSHED', 'HANDLE_DETACHED', 'HANDLE_ATTACHED']);
    expect(out).toEqual(['dev0:STOP_PASID', 'iommu:DRAIN_PASID', 'wq:FLUSH', 'iopf.dev0:DETACH_HANDLE', 'iopf.dev0:ATTACH_HANDLE', 'dev0:RESUME']);
    expect(s.value).toBe('bound');
    expect(s.context.gen).toBe(1);
  });

  it('for iommufd answers what the fault object holds and stays detached', () => {
    const { s, out } = walk(driver(null, 'iommufd'), ['UNBIND', 'PASID_STOPPED', 'PASID_DRAINED', 'FLUSHED', 'HANDLE_DETACHED', 'AUTO_RESPONDED']);
    expect(out.slice(-2)).toEqual(['iommufd:AUTO_RESPONSE', 'iommufd:IDEV_DETACHED']);
    expect(s.value).toBe('detached');
  });

  it('the variants skip the drain, or flush before stopping', () => {
    expect(walk(driver('pasid-freed-without-drain'), ['UNBIND', 'PASID_STOPPED']).out).toEqual(['dev0:STOP_PASID', 'iopf.dev0:DETACH_HANDLE']);
    expect(walk(driver('flush-before-stop'), ['UNBIND', 'FLUSHED', 'PASID_STOPPED']).out).toEqual(['wq:FLUSH', 'dev0:STOP_PASID', 'iopf.dev0:DETACH_HANDLE']);
  });

  it('abandons the teardown when the device is going away', () => {
    expect(walk(driver(), ['UNBIND', 'STOP_FAILED']).s.value).toBe('abandoned');
  });
});

describe('device PASID stop', () => {
  const dev = (script: PageRequest[], stopMode: 'wait' | 'marker') =>
    initialTransition(deviceMachine, { id: 'dev0', iommu: 'iommu', driver: 'drv.dev0', pasid: 1, script, limit: 8, unplugAfter: 0, stopMode })[0];

  it('finishes a started group, then sends a Stop Marker and reports the stop behind it', () => {
    let s = dev([req(0, 1, false), req(1, 2, true), req(2, 1, true)], 'marker');
    [s] = transition(deviceMachine, s, { type: 'ISSUE' });
    [s] = transition(deviceMachine, s, { type: 'STOP_PASID' });
    // Only group 1 goes on; group 2's request waits for the resume; no unplug mid-stop.
    expect(deviceKind.offers(s, view).map((o) => o.event.type)).toEqual(['ISSUE']);
    let acts;
    [s, acts] = transition(deviceMachine, s, { type: 'ISSUE' });
    expect(sends(acts)[0].payload.req).toMatchObject({ reqId: 'dev0#2' });
    expect(deviceKind.offers(s, view).map((o) => o.event.type)).toEqual(['STOP_DONE']);
    [s, acts] = transition(deviceMachine, s, { type: 'STOP_DONE' });
    expect(sends(acts).map((x) => `${x.type}:${(x.payload.req as PageRequest | undefined)?.kind ?? ''}`)).toEqual(['PAGE_REQ:stop-marker', 'PASID_STOPPED:']);
    [s] = transition(deviceMachine, s, { type: 'RESUME', bond: 1 });
    [s, acts] = transition(deviceMachine, s, { type: 'ISSUE' });
    expect(sends(acts)[0].payload.req).toMatchObject({ reqId: 'dev0#1', bond: 1 });
  });

  it("in 'wait' mode stops only once every owed response came back", () => {
    let s = dev([req(0, 1, true)], 'wait');
    [s] = transition(deviceMachine, s, { type: 'ISSUE' });
    [s] = transition(deviceMachine, s, { type: 'STOP_PASID' });
    expect(deviceKind.offers(s, view)).toEqual([]);
    [s] = transition(deviceMachine, s, { type: 'PAGE_RESPONSE', resp: { dev: 'dev0', grpid: 1, pasid: 1, code: 'SUCCESS' } });
    expect(deviceKind.offers(s, view).map((o) => o.event.type)).toEqual(['STOP_DONE']);
  });

  it('owes an answer for a private-data request and for the last one of the same group', () => {
    let s = dev([req(0, 1, false, { privData: true }), req(1, 1, true)], 'wait');
    [s] = transition(deviceMachine, s, { type: 'ISSUE' });
    [s] = transition(deviceMachine, s, { type: 'ISSUE' });
    expect(s.context.groups).toEqual([{ grpid: 1, count: 2, owed: 2, closed: true }]);
    [s] = transition(deviceMachine, s, { type: 'PAGE_RESPONSE', resp: { dev: 'dev0', grpid: 1, pasid: 1, code: 'SUCCESS' } });
    expect(s.context.outstanding).toBe(2);
    [s] = transition(deviceMachine, s, { type: 'PAGE_RESPONSE', resp: { dev: 'dev0', grpid: 1, pasid: 1, code: 'SUCCESS' } });
    expect(s.context.outstanding).toBe(0);
  });
});

describe('iommu page-request thread', () => {
  const iommu = (bug: string | null = null, depth = 4) =>
    initialTransition(withVariant(iommuMachine, bug), { id: 'iommu', depth, faultParams: { dev0: 'iopf.dev0' }, drivers: { dev0: 'drv.dev0' } })[0];
  const service = (r: PageRequest, bug: string | null = null) => {
    const s0 = iommu(bug);
    const [s1] = transition(s0.machine, s0, { type: 'PAGE_REQ', req: r });
    return transition(s0.machine, s1, { type: 'PRQ_SERVICE' })[1];
  };

  it('drops a Stop Marker, and reports it only in the stop-marker-answered variant', () => {
    const marker = req(9, 0, true, { kind: 'stop-marker', perm: 0 });
    expect(sends(service(marker))).toEqual([]);
    expect(observed(service(marker), 'stop-marker-dropped')).toHaveLength(1);
    expect(sends(service(marker, 'stop-marker-answered'))[0].type).toBe('REPORT_FAULT');
  });

  it('reports a private-data request as a last page (VT-d), unless the variant forgets', () => {
    const pd = req(1, 1, false, { privData: true });
    expect((sends(service(pd))[0].payload.fault as PageRequest).last).toBe(true);
    expect((sends(service(pd, 'priv-data-not-answered'))[0].payload.fault as PageRequest).last).toBe(false);
  });

  it('back-pressures a stalling device instead of dropping its stall', () => {
    const stall = req(0, 5, true, { transport: 'stall', needsPasid: false });
    const [full] = transition(iommuMachine, iommu(null, 1), { type: 'PAGE_REQ', req: stall });
    expect(iommuKind.accepts!(full, { type: 'PAGE_REQ', req: { ...stall, reqId: 'dev0#1' } } as never, view)).toBe(false);
    expect(iommuKind.accepts!(full, { type: 'PAGE_REQ', req: req(1, 1, true) } as never, view)).toBe(true);
  });

  it('fences the fault parameter once the PASID has no request left in the queue', () => {
    const [s1] = transition(iommuMachine, iommu(), { type: 'PAGE_REQ', req: req(0, 1, true) });
    const [s2] = transition(iommuMachine, s1, { type: 'DRAIN_PASID', dev: 'dev0', pasid: 1 });
    expect(iommuKind.offers(s2, view).map((o) => o.event.type)).toEqual(['PRQ_SERVICE']);
    const [s3] = transition(iommuMachine, s2, { type: 'PRQ_SERVICE' });
    const [drain] = iommuKind.offers(s3, view);
    const [, acts] = transition(iommuMachine, s3, drain.event as never);
    expect(sends(acts)).toEqual([{ to: 'iopf.dev0', type: 'DRAIN_FENCE', payload: { pasid: 1, driver: 'drv.dev0' } }]);
  });
});

describe('fault parameter: handles, fence, deferred=false', () => {
  const fp = (deferred = true, handler: 'sva' | 'iommufd' = 'sva') =>
    initialTransition(faultParamMachine, { id: 'iopf.dev0', dev: 'dev0', iommu: 'iommu', wq: 'wq', iommufd: 'iommufd', handles: { 1: { gen: 0, handler } }, grouping: 'list', deferred })[0];

  it('sends the drain fence down the handler queue, behind the queued works', () => {
    expect(sends(transition(faultParamMachine, fp(), { type: 'DRAIN_FENCE', pasid: 1, driver: 'drv.dev0' })[1])).toEqual([{ to: 'wq', type: 'FENCE', payload: { driver: 'drv.dev0' } }]);
    expect(sends(transition(faultParamMachine, fp(true, 'iommufd'), { type: 'DRAIN_FENCE', pasid: 1, driver: 'drv.dev0' })[1])[0].to).toBe('iommufd');
  });

  it('hands a group to iommufd for a PASID attached to an HWPT with a fault object', () => {
    const [s1] = transition(faultParamMachine, fp(true, 'iommufd'), { type: 'REPORT_FAULT', fault: req(0, 1, true) });
    const [, acts] = transition(faultParamMachine, s1, { type: 'CALL_HANDLER' });
    expect(sends(acts).map((x) => `${x.to}:${x.type}`)).toEqual(['iommufd:DELIVER']);
    expect(observed(acts, 'attach-handle')[0]).toMatchObject({ gen: 0, bonds: [0] });
  });

  it('frees the domain on detach and finds no handler afterwards (INVALID)', () => {
    const [s1, det] = transition(faultParamMachine, fp(), { type: 'DETACH_HANDLE', pasid: 1, driver: 'drv.dev0' });
    expect(observed(det, 'free')[0]).toMatchObject({ obj: 'domain:dev0:pasid1#0' });
    const [s2] = transition(faultParamMachine, s1, { type: 'REPORT_FAULT', fault: req(0, 1, true) });
    const [, acts] = transition(faultParamMachine, s2, { type: 'CALL_HANDLER' });
    expect((sends(acts)[0].payload.resp as { code: string }).code).toBe('INVALID');
  });

  it('deferred=false handles a partial at once and lets its group skip it', () => {
    const [s1, acts] = transition(faultParamMachine, fp(false), { type: 'REPORT_FAULT', fault: req(0, 1, false) });
    const pre = sends(acts)[0];
    expect(pre).toMatchObject({ to: 'wq', type: 'QUEUE_WORK' });
    expect((pre.payload.group as IopfGroup).prefault).toBe(true);
    const [s2] = transition(faultParamMachine, s1, { type: 'PREFAULT_DONE', group: pre.payload.group as IopfGroup, status: 'SUCCESS' });
    const [s3] = transition(faultParamMachine, s2, { type: 'REPORT_FAULT', fault: req(1, 1, true) });
    expect(s3.context.inflight?.skip).toEqual(['dev0#0']);
    expect(s3.context.users).toBe(2);
  });
});

describe('workqueue flush', () => {
  it('returns only when nothing is queued or running', () => {
    let [s] = initialTransition(workqueueMachine, { id: 'wq', kworkers: ['kworker0'] });
    [s] = transition(workqueueMachine, s, { type: 'QUEUE_WORK', group: { gid: 'g', dev: 'dev0', faults: [], abort: false } });
    [s] = transition(workqueueMachine, s, { type: 'FLUSH', from: 'drv.dev0' });
    expect(workqueueKind.offers(s, view).map((o) => o.event.type)).toEqual(['DISPATCH']);
    [s] = transition(workqueueMachine, s, { type: 'DISPATCH' });
    expect(workqueueKind.offers(s, view)).toEqual([]);
    [s] = transition(workqueueMachine, s, { type: 'KWORKER_IDLE', kworker: 'kworker0' });
    expect(workqueueKind.offers(s, view).map((o) => o.event.type)).toEqual(['FLUSH_DONE']);
  });
});

describe('iommufd fault object', () => {
  const group = (n: number, dev = 'dev0'): IopfGroup => ({ gid: `group:${dev}#${n}`, dev, faults: [req(n, 1, true, { dev })], abort: false });
  const fault = (bug: string | null = null) =>
    initialTransition(withVariant(iommufdFaultMachine, bug), { id: 'iommufd', vmm: 'vmm', faultParams: { dev0: 'iopf.dev0', dev1: 'iopf.dev1' } })[0];

  it('delivers, reads with a cookie (mutex held across the copy), answers by cookie and rejects unknown ones', () => {
    let s = fault();
    let acts;
    [s, acts] = transition(iommufdFaultMachine, s, { type: 'DELIVER', group: group(0) });
    expect((acts as Act[]).filter((a) => a.type === 'lock').map((a) => a.params?.lock)).toEqual(['fault->lock']);
    [s] = transition(iommufdFaultMachine, s, { type: 'READ' });
    expect(s.value).toBe('copying');
    expect(iommufdFaultKind.accepts!(s, { type: 'WRITE', cookie: 1, code: 'SUCCESS' } as never, view)).toBe(false);
    [s, acts] = transition(iommufdFaultMachine, s, { type: 'COPY_TO_USER' });
    expect(sends(acts)[0]).toMatchObject({ to: 'vmm', type: 'FAULTS', payload: { cookie: 1 } });
    [s, acts] = transition(iommufdFaultMachine, s, { type: 'WRITE', cookie: 7, code: 'SUCCESS' });
    expect(observed(acts, 'write-rejected')).toEqual([{ what: 'write-rejected', cookie: 7 }]);
    [s, acts] = transition(iommufdFaultMachine, s, { type: 'WRITE', cookie: 1, code: 'SUCCESS' });
    expect(sends(acts)).toEqual([{ to: 'iopf.dev0', type: 'GROUP_DONE', payload: { group: group(0), status: 'SUCCESS' } }]);
    expect(s.context.response).toEqual({});
  });

  it('the iommufd-deliver-under-mutex variant delivers under fault->mutex, so a read() in its copy holds the handler up', () => {
    const holding = (held: string[]) => ({ ...view, canTake: (l: string) => !held.includes(l) });
    const deliver = { type: 'DELIVER', group: group(0) } as never;
    expect(iommufdFaultKind.accepts!(fault(), deliver, holding(['fault->mutex']))).toBe(true);
    const s = fault('iommufd-deliver-under-mutex');
    expect(iommufdFaultKind.accepts!(s, deliver, holding(['fault->mutex']))).toBe(false);
    const [, acts] = transition(s.machine, s, deliver);
    expect((acts as Act[]).filter((a) => a.type === 'lock').map((a) => a.params?.lock)).toEqual(['fault->mutex']);
  });

  it('puts a group back at the head when copy_to_user faults', () => {
    let s = fault();
    [s] = transition(iommufdFaultMachine, s, { type: 'DELIVER', group: group(0) });
    [s] = transition(iommufdFaultMachine, s, { type: 'DELIVER', group: group(1) });
    [s] = transition(iommufdFaultMachine, s, { type: 'READ' });
    [s] = transition(iommufdFaultMachine, s, { type: 'COPY_TO_USER', efault: true });
    expect(s.context.deliver.map((g) => g.gid)).toEqual(['group:dev0#0', 'group:dev0#1']);
    expect(s.context.response).toEqual({});
  });

  it('auto-responds INVALID to one device only, and destroy releases everything', () => {
    let s = fault();
    [s] = transition(iommufdFaultMachine, s, { type: 'DELIVER', group: group(0) });
    [s] = transition(iommufdFaultMachine, s, { type: 'DELIVER', group: group(1, 'dev1') });
    let acts;
    [s, acts] = transition(iommufdFaultMachine, s, { type: 'AUTO_RESPONSE', dev: 'dev0', driver: 'drv.dev0' });
    expect(sends(acts).map((x) => `${x.to}:${x.type}:${x.payload.status ?? ''}`)).toEqual(['iopf.dev0:GROUP_DONE:INVALID', 'drv.dev0:AUTO_RESPONDED:']);
    [s, acts] = transition(iommufdFaultMachine, s, { type: 'DESTROY' });
    const holds = observed(acts, 'destroy')[0]?.holds as string[];
    const released = observed(acts, 'release').map((o) => o?.obj);
    expect(holds.every((h) => released.includes(h))).toBe(true);
    const skips = fault('iommufd-destroy-skips-response');
    const [, leaky] = transition(skips.machine, skips, { type: 'DESTROY' });
    expect(observed(leaky, 'release').map((o) => o?.obj)).not.toContain('fault->response (xarray)');
  });
});
