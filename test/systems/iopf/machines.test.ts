/** Machines tested by their transitions alone: nothing is started, no runtime is involved. */
import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { deviceKind, deviceMachine } from '../../../systems/iopf/machines/device.ts';
import { faultParamKind, faultParamMachine } from '../../../systems/iopf/machines/faultParam.ts';
import { iommuKind, iommuMachine } from '../../../systems/iopf/machines/iommu.ts';
import type { PageRequest } from '../../../systems/iopf/machines/types.ts';
import { pageReq } from '../../helpers.ts';
import { withVariant } from './variant.ts';

const req = pageReq;
type Act = { type: string; params?: Record<string, unknown> };
const sends = (acts: unknown[]) => (acts as Act[]).filter((a) => a.type === 'send').map((a) => a.params as { to: string; type: string; payload: Record<string, unknown> });
const view = { canTake: () => true, shared: <T>(): T => { throw new Error('no shared state in a machine test'); } };

/** A fault parameter's initial snapshot; its machine (`s.machine`) has the variant's substitutions. */
function fp(bug: string | null = null, boundPasids = [1], deferred = true) {
  const handles = Object.fromEntries(boundPasids.map((p) => [p, { gen: 0, handler: 'sva' as const }]));
  return initialTransition(withVariant(faultParamMachine, bug), { id: 'iopf.dev0', dev: 'dev0', iommu: 'iommu', wq: 'wq', iommufd: 'iommufd', handles, grouping: 'list', deferred })[0];
}

describe('fault parameter', () => {
  it('assembles a group from its grpid partials in arrival order, leaving other groups', () => {
    let s = fp();
    for (const r of [req(0, 1, false), req(1, 2, false), req(2, 1, false)]) [s] = transition(faultParamMachine, s, { type: 'REPORT_FAULT', fault: r });
    const [s2] = transition(faultParamMachine, s, { type: 'REPORT_FAULT', fault: req(3, 1, true) });
    expect(s2.value).toBe('dispatching');
    expect(s2.context.inflight?.faults.map((f) => f.reqId)).toEqual(['dev0#0', 'dev0#2', 'dev0#3']);
    expect(s2.context.partial.map((f) => f.reqId)).toEqual(['dev0#1']);
    expect(s2.context.users).toBe(2);
    expect(s2.context.lookupSteps).toBe(3);
  });

  it('hands a bound group to the workqueue with the lock dropped (a separate step)', () => {
    const [s1] = transition(faultParamMachine, fp(), { type: 'REPORT_FAULT', fault: req(0, 1, true) });
    const [s2, acts] = transition(faultParamMachine, s1, { type: 'CALL_HANDLER' });
    expect(s2.value).toBe('idle');
    expect(sends(acts)).toEqual([{ to: 'wq', type: 'QUEUE_WORK', payload: { group: { ...s1.context.inflight, domain: 'domain:dev0:pasid1#0' } } }]);
  });

  it('answers INVALID when no handler is attached, FAILURE for an abort group', () => {
    const [a] = transition(faultParamMachine, fp(null, []), { type: 'REPORT_FAULT', fault: req(0, 1, true) });
    const [, acts] = transition(faultParamMachine, a, { type: 'CALL_HANDLER' });
    expect(sends(acts).map((x) => (x.payload.resp as { code: string }).code)).toEqual(['INVALID']);
    const [b] = transition(faultParamMachine, fp(), { type: 'REPORT_FAULT', fault: req(0, 1, true), allocFail: true });
    const [b2, acts2] = transition(faultParamMachine, b, { type: 'CALL_HANDLER' });
    expect(sends(acts2).map((x) => (x.payload.resp as { code: string }).code)).toEqual(['FAILURE']);
    expect(b2.context.users).toBe(1);
  });

  it('the no-response-without-handler variant frees the group silently', () => {
    const variant = fp('no-response-without-handler', []);
    const [a] = transition(variant.machine, variant, { type: 'REPORT_FAULT', fault: req(0, 1, true) });
    const [a2, acts] = transition(variant.machine, a, { type: 'CALL_HANDLER' });
    expect(sends(acts)).toEqual([]);
    expect(a2.context.pending).toEqual([]);
  });

  it('answers a group once: after removal answered it INVALID the kworker response is dropped', () => {
    const [s1] = transition(faultParamMachine, fp(), { type: 'REPORT_FAULT', fault: req(0, 1, true) });
    const group = s1.context.inflight!;
    const [s2] = transition(faultParamMachine, s1, { type: 'CALL_HANDLER' });
    const [s3, removal] = transition(faultParamMachine, s2, { type: 'QUEUE_REMOVE_DEVICE' });
    expect(sends(removal).map((x) => x.type)).toEqual(['PAGE_RESPONSE_CMD', 'DEVICE_REMOVED']);
    expect(s3.context.users).toBe(1); // the group still holds its reference
    const [s4, done] = transition(faultParamMachine, s3, { type: 'GROUP_DONE', group, status: 'SUCCESS' });
    expect(sends(done)).toEqual([]);
    expect(s4.context.users).toBe(0);
    const frees = (done as Act[]).filter((a) => a.type === 'observe' && a.params?.what === 'free').map((a) => a.params?.obj);
    expect(frees).toEqual([group.gid, 'fault_param:dev0']);
  });

  it('the response-after-removal variant answers again after removal', () => {
    const variant = fp('response-after-removal');
    const m = variant.machine;
    const [s1] = transition(m, variant, { type: 'REPORT_FAULT', fault: req(0, 1, true) });
    const group = s1.context.inflight!;
    const [s2] = transition(m, s1, { type: 'CALL_HANDLER' });
    const [s3] = transition(m, s2, { type: 'QUEUE_REMOVE_DEVICE' });
    const [, done] = transition(m, s3, { type: 'GROUP_DONE', group, status: 'SUCCESS' });
    expect(sends(done).map((x) => x.type)).toEqual(['PAGE_RESPONSE_CMD']);
  });

  it('takes queue->lock, param->lock, fault_param->lock in that order on removal', () => {
    const [, acts] = transition(faultParamMachine, fp(), { type: 'QUEUE_REMOVE_DEVICE' });
    const order = (acts as Act[]).filter((a) => a.type === 'lock').map((a) => a.params?.lock);
    expect(order).toEqual(['queue->lock', 'dev0:param->lock', 'dev0:fault_param->lock']);
  });
});

describe('iommu', () => {
  const iommu = (bug: string | null = null) =>
    initialTransition(withVariant(iommuMachine, bug), { id: 'iommu', depth: 1, faultParams: { dev0: 'iopf.dev0' }, drivers: { dev0: 'drv.dev0' } })[0];

  it('queues up to its depth, then sets PRO and answers a dropped last request itself', () => {
    const [s1] = transition(iommuMachine, iommu(), { type: 'PAGE_REQ', req: req(0, 1, false) });
    expect(s1.context.prq).toHaveLength(1);
    const [s2, acts] = transition(iommuMachine, s1, { type: 'PAGE_REQ', req: req(1, 2, true) });
    expect(s2.context.pro).toBe(true);
    expect(sends(acts)).toEqual([{ to: 'dev0', type: 'PAGE_RESPONSE', payload: { resp: { dev: 'dev0', grpid: 2, pasid: 1, code: 'SUCCESS', auto: true } } }]);
    // PRO is cleared only once the queue is empty.
    expect(iommuKind.offers(s2, view).map((o) => o.event.type)).toEqual(['PRQ_SERVICE']);
    const [s3] = transition(iommuMachine, s2, { type: 'PRQ_SERVICE' });
    expect(iommuKind.offers(s3, view).map((o) => o.event.type)).toEqual(['PRQ_CLEAR_OVERFLOW']);
    const [s4, clear] = transition(iommuMachine, s3, { type: 'PRQ_CLEAR_OVERFLOW' });
    expect(s4.context.pro).toBe(false);
    expect(sends(clear)).toEqual([{ to: 'iopf.dev0', type: 'DISCARD_PARTIAL', payload: {} }]);
  });

  it('drains a released device before removing it from the queue', () => {
    const [s1] = transition(iommuMachine, iommu(), { type: 'PAGE_REQ', req: req(0, 1, true) });
    const [s2] = transition(iommuMachine, s1, { type: 'RELEASE_DEVICE', dev: 'dev0' });
    expect(iommuKind.offers(s2, view).map((o) => o.event.type)).toEqual(['PRQ_SERVICE']);
    const [s3] = transition(iommuMachine, s2, { type: 'PRQ_SERVICE' });
    expect(iommuKind.offers(s3, view)).toEqual([{ event: { type: 'REMOVE_FROM_QUEUE', dev: 'dev0' }, label: 'dev0' }]);
    const [, dropped] = transition(iommuMachine, s3, { type: 'PAGE_REQ', req: req(1, 2, true) });
    expect((dropped as Act[]).find((a) => a.type === 'observe')?.params).toMatchObject({ what: 'prq-dropped', reason: 'pri-disabled' });
  });

  it('the overflow-cleared-too-early variant offers the PRO clear with requests still queued', () => {
    const s0 = iommu('overflow-cleared-too-early');
    const [s1] = transition(s0.machine, s0, { type: 'PAGE_REQ', req: req(0, 1, false) });
    const [s2] = transition(s0.machine, s1, { type: 'PAGE_REQ', req: req(1, 2, true) });
    expect(iommuKind.offers(s2, view).map((o) => o.event.type)).toEqual(['PRQ_SERVICE', 'PRQ_CLEAR_OVERFLOW']);
  });

  it('the removal-without-prq-drain variant offers the removal before the device\'s requests are reported', () => {
    const s0 = iommu('removal-without-prq-drain');
    const [s1] = transition(s0.machine, s0, { type: 'PAGE_REQ', req: req(0, 1, true) });
    const [s2] = transition(s0.machine, s1, { type: 'RELEASE_DEVICE', dev: 'dev0' });
    expect(iommuKind.offers(s2, view).map((o) => o.event.type)).toEqual(['PRQ_SERVICE', 'REMOVE_FROM_QUEUE']);
  });
});

describe('device', () => {
  const dev = (script: PageRequest[], limit = 8, stopMode: 'wait' | 'marker' = 'wait') =>
    initialTransition(deviceMachine, { id: 'dev0', iommu: 'iommu', driver: 'drv.dev0', pasid: 1, script, limit, unplugAfter: null, stopMode })[0];

  it('does not reuse a grpid while its group awaits a response', () => {
    let s = dev([req(0, 1, true), req(1, 1, true)]);
    [s] = transition(deviceMachine, s, { type: 'ISSUE' });
    expect(deviceKind.offers(s, view)).toEqual([]);
    [s] = transition(deviceMachine, s, { type: 'PAGE_RESPONSE', resp: { dev: 'dev0', grpid: 1, pasid: 1, code: 'SUCCESS' } });
    expect(deviceKind.offers(s, view)).toEqual([{ event: { type: 'ISSUE' } }]);
  });

  it('respects its outstanding-request limit and stops after a Response Failure', () => {
    let s = dev([req(0, 1, false), req(1, 1, true), req(2, 2, true)], 2);
    [s] = transition(deviceMachine, s, { type: 'ISSUE' });
    [s] = transition(deviceMachine, s, { type: 'ISSUE' });
    expect(s.context.outstanding).toBe(2);
    expect(deviceKind.offers(s, view)).toEqual([]);
    [s] = transition(deviceMachine, s, { type: 'PAGE_RESPONSE', resp: { dev: 'dev0', grpid: 1, code: 'FAILURE' } });
    expect(s.value).toBe('priDisabled');
    expect(s.context.outstanding).toBe(0);
    expect(deviceKind.offers(s, view)).toEqual([]);
  });
});

describe('canonical forms (world hash)', () => {
  const bump = <S extends { context: object }>(s: S, field: string, value: unknown): S => ({ ...s, context: { ...s.context, [field]: value } });

  it('leave the statistics out and keep the rest', () => {
    const [s] = transition(faultParamMachine, fp(), { type: 'REPORT_FAULT', fault: req(0, 1, false) });
    expect(faultParamKind.canonical!(bump(s, 'lookupSteps', 99))).toEqual(faultParamKind.canonical!(s));
    expect(faultParamKind.canonical!(bump(s, 'partial', []))).not.toEqual(faultParamKind.canonical!(s));
    expect(faultParamKind.canonical!(s)).toEqual(['idle', expect.not.objectContaining({ lookupSteps: 0 })]);
    const d = initialTransition(deviceMachine, { id: 'dev0', iommu: 'iommu', driver: 'drv.dev0', pasid: 1, script: [], limit: 8, unplugAfter: null, stopMode: 'wait' })[0];
    expect(deviceKind.canonical!(bump(bump(d, 'responses', 5), 'failures', 2))).toEqual(deviceKind.canonical!(d));
    expect(deviceKind.canonical!(bump(d, 'outstanding', 1))).not.toEqual(deviceKind.canonical!(d));
    const i = initialTransition(iommuMachine, { id: 'iommu', depth: 1, faultParams: {}, drivers: {} })[0];
    expect(iommuKind.canonical!(bump(bump(i, 'overflows', 3), 'maxOccupancy', 1))).toEqual(iommuKind.canonical!(i));
    expect(iommuKind.canonical!(bump(i, 'pro', true))).not.toEqual(iommuKind.canonical!(i));
  });
});
