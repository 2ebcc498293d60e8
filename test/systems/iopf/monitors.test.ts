/**
 * Each monitor is fed a hand-built trace that breaks it (and must fail, naming the values),
 * and a matching good trace (and must stay quiet).
 */
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../../core/bus.ts';
import type { PageRequest } from '../../../systems/iopf/machines/types.ts';
import {
  groupIntegrity,
  noResponseAfterRemoval,
  noStuckPartial,
  noUseAfterFree,
  oneResponsePerLastPage,
  pasidBond,
  prqDepth,
  responseMatchesRequest,
} from '../../../systems/iopf/specs/index.ts';
import { noLeak } from '../../../kernel/noLeak.ts';
import type { ActorObservation, Monitor, QuiescenceView, StepRecord } from '../../../core/model/monitor.ts';
import { pageReq } from '../../helpers.ts';

let envId = 0;
const env = (from: string, to: string, type: string, payload: Record<string, unknown>): Envelope => ({ id: ++envId, from, to, type, payload, cause: null });
const step = (i: number, p: Partial<StepRecord>): StepRecord => ({
  i,
  t: i,
  step: 'x',
  actor: 'x',
  event: { type: 'X' },
  before: 's',
  after: 's',
  delivered: null,
  sent: [],
  obs: [],
  locks: [],
  ...p,
});
const req = pageReq;
const obs = (actor: string, o: Record<string, unknown>): ActorObservation => ({ actor, what: String(o.what), seq: 0, ...o });
const sendReq = (i: number, r: PageRequest) => step(i, { actor: 'dev0', sent: [env('dev0', 'iommu', 'PAGE_REQ', { req: r })] });
const deliverResp = (i: number, resp: Record<string, unknown>, to = 'dev0') => step(i, { actor: to, delivered: env('iommu', to, 'PAGE_RESPONSE', { resp: { dev: to, ...resp } }) });
const quiet = (actors: QuiescenceView['actors'] = {}): QuiescenceView => ({ step: 99, actors, undelivered: [] });

function feed(m: Monitor, steps: StepRecord[], q?: QuiescenceView) {
  const inst = m.create({});
  for (const s of steps) {
    const v = inst.onStep?.(s);
    if (v) return v;
  }
  return q && inst.atQuiescence ? inst.atQuiescence(q) : null;
}

describe('one-response-per-last-page', () => {
  it('fails on a duplicate response', () => {
    const v = feed(oneResponsePerLastPage, [sendReq(0, req(0, 2, true)), deliverResp(1, { grpid: 2, pasid: 1, code: 'SUCCESS' }), deliverResp(2, { grpid: 2, pasid: 1, code: 'INVALID' })]);
    expect(v?.message).toMatch(/dev0 received a INVALID response for grpid 2/);
  });
  it('fails on a response to a non-last request', () => {
    const v = feed(oneResponsePerLastPage, [sendReq(0, req(0, 2, false)), deliverResp(1, { grpid: 2, pasid: 1, code: 'SUCCESS' })]);
    expect(v?.message).toMatch(/no unanswered last-page request/);
  });
  it('fails at quiescence on a request never answered, naming it', () => {
    const v = feed(oneResponsePerLastPage, [sendReq(0, req(4, 3, true))], quiet({ dev0: { kind: 'iopf.device', value: 'active', context: {} } }));
    expect(v?.message).toMatch(/never answered: dev0#4 \(grpid 3\)/);
  });
  it('accepts one response per last request, and none for one dropped at unplug', () => {
    const dropped = req(5, 1, true);
    const steps = [
      sendReq(0, req(0, 2, true)),
      deliverResp(1, { grpid: 2, pasid: 1, code: 'SUCCESS' }),
      sendReq(2, dropped),
      step(3, { obs: [obs('iommu', { what: 'prq-dropped', reason: 'pri-disabled', reqId: dropped.reqId })] }),
    ];
    expect(feed(oneResponsePerLastPage, steps, quiet())).toBeNull();
  });
});

describe('response-matches-request', () => {
  it('fails when the pasid is missing though required', () => {
    const v = feed(responseMatchesRequest, [sendReq(0, req(0, 2, true)), deliverResp(1, { grpid: 2, code: 'SUCCESS' })]);
    expect(v?.message).toBe('response to dev0#0 (grpid 2) must carry pasid 1 but carries none');
  });
  it('fails on a wrong pasid and on a pasid not needed', () => {
    expect(feed(responseMatchesRequest, [sendReq(0, req(0, 2, true)), deliverResp(1, { grpid: 2, pasid: 7, code: 'SUCCESS' })])?.message).toMatch(/carries 7/);
    const noNeed = req(0, 2, true, { needsPasid: false });
    expect(feed(responseMatchesRequest, [sendReq(0, noNeed), deliverResp(1, { grpid: 2, pasid: 1, code: 'SUCCESS' })])?.message).toMatch(/does not need one/);
  });
  it('fails on a grpid no last request carried', () => {
    expect(feed(responseMatchesRequest, [sendReq(0, req(0, 2, true)), deliverResp(1, { grpid: 3, pasid: 1, code: 'SUCCESS' })])?.message).toMatch(/grpid 3/);
  });
  it('accepts a matching response', () => {
    expect(feed(responseMatchesRequest, [sendReq(0, req(0, 2, true)), deliverResp(1, { grpid: 2, pasid: 1, code: 'SUCCESS' })])).toBeNull();
  });
});

describe('group-integrity', () => {
  const report = (i: number, r: PageRequest) => step(i, { actor: 'iopf.dev0', delivered: env('iommu', 'iopf.dev0', 'REPORT_FAULT', { fault: r }) });
  const assembled = (i: number, grpid: number, reqIds: string[]) =>
    step(i, { actor: 'iopf.dev0', obs: [obs('iopf.dev0', { what: 'group-assembled', gid: `group:dev0#${i}`, dev: 'dev0', grpid, reqIds })] });
  const sentAndReported = (i: number, r: PageRequest) => [sendReq(i, r), report(i + 100, r)];
  it('fails on partials out of arrival order', () => {
    const v = feed(groupIntegrity, [...sentAndReported(0, req(0, 1, false)), ...sentAndReported(1, req(1, 1, false)), sendReq(2, req(2, 1, true)), assembled(3, 1, ['dev0#1', 'dev0#0', 'dev0#2'])]);
    expect(v?.message).toBe('group:dev0#3 (grpid 1) holds [dev0#1, dev0#0, dev0#2] but should hold [dev0#0, dev0#1, dev0#2]; the partials are out of report order (iopf_group_alloc() must list_move them oldest first)');
  });
  it('fails on a stale partial of an earlier group with the same grpid, naming it', () => {
    const steps = [
      ...sentAndReported(0, req(0, 1, false)),
      sendReq(1, req(1, 1, true)), // closes instance 0 of grpid 1 (its last was answered elsewhere)
      sendReq(2, req(5, 1, true)),
      assembled(3, 1, ['dev0#0', 'dev0#5']),
    ];
    expect(feed(groupIntegrity, steps)?.message).toBe(
      'group:dev0#3 (grpid 1) holds [dev0#0, dev0#5] but should hold [dev0#5]; dev0#0 is a stale partial of an earlier group with grpid 1 (dev0/1#0), left on fault_param->partial and swept in by iopf_group_alloc()',
    );
  });
  it('fails on a missing partial', () => {
    expect(feed(groupIntegrity, [...sentAndReported(0, req(0, 1, false)), sendReq(1, req(1, 1, true)), assembled(2, 1, ['dev0#1'])])?.message).toMatch(
      /should hold \[dev0#0, dev0#1\]; partial dev0#0 was reported onto fault_param->partial \(not discarded, not lost to a failed kzalloc\) but is missing/,
    );
  });
  it('accepts a complete group, and one whose partial was documented as discarded', () => {
    const ok = [...sentAndReported(0, req(0, 1, false)), ...sentAndReported(1, req(1, 2, false)), sendReq(2, req(3, 1, true)), assembled(3, 1, ['dev0#0', 'dev0#3'])];
    expect(feed(groupIntegrity, ok)).toBeNull();
    const discarded = step(1, { obs: [obs('iopf.dev0', { what: 'partial-discarded', dev: 'dev0', reqIds: ['dev0#0'] })] });
    expect(feed(groupIntegrity, [...sentAndReported(0, req(0, 1, false)), discarded, sendReq(2, req(3, 1, true)), assembled(3, 1, ['dev0#3'])])).toBeNull();
  });
});

describe('no-stuck-partial', () => {
  const fp = (partial: PageRequest[]) => ({ kind: 'iopf.faultParam', value: 'idle', context: { dev: 'dev0', partial } });
  it('fails at quiescence with partials left, naming them', () => {
    const v = feed(noStuckPartial, [], quiet({ 'iopf.dev0': fp([req(3, 2, false)]), dev0: { kind: 'iopf.device', value: 'active', context: {} } }));
    expect(v?.message).toBe('iopf.dev0 still holds 1 partial fault(s) at quiescence: dev0#3 (grpid 2)');
  });
  it('accepts empty lists, and a device whose PRI a Response Failure disabled', () => {
    expect(feed(noStuckPartial, [], quiet({ 'iopf.dev0': fp([]) }))).toBeNull();
    expect(feed(noStuckPartial, [], quiet({ 'iopf.dev0': fp([req(3, 2, false)]), dev0: { kind: 'iopf.device', value: 'stopped', context: { priOff: true } } }))).toBeNull();
  });
});

describe('prq-depth', () => {
  it('fails when the queue holds more than its depth', () => {
    const v = feed(prqDepth, [step(0, { obs: [obs('iommu', { what: 'prq-occupancy', n: 5, depth: 4 })] })]);
    expect(v?.message).toBe('iommu page-request queue holds 5 entries, depth is 4');
    expect(feed(prqDepth, [step(0, { obs: [obs('iommu', { what: 'prq-occupancy', n: 4, depth: 4 })] })])).toBeNull();
  });
});

describe('no-response-after-removal', () => {
  it('fails on a response delivered after REMOVED', () => {
    const removed = step(0, { actor: 'dev0', delivered: env('iommu', 'dev0', 'REMOVED', {}) });
    const v = feed(noResponseAfterRemoval, [removed, deliverResp(1, { grpid: 2, code: 'SUCCESS' })]);
    expect(v?.message).toBe('dev0 received a SUCCESS response for grpid 2 after its removal completed at step 0');
    expect(feed(noResponseAfterRemoval, [deliverResp(0, { grpid: 2, code: 'INVALID' }), removed])).toBeNull();
  });
});

describe('no-use-after-free', () => {
  const o = (i: number, what: string, obj: string, by = 'p') => step(i, { obs: [obs('kw', { what, obj, by })] });
  it('fails on a use after free and on a double free', () => {
    expect(feed(noUseAfterFree, [o(0, 'alloc', 'g1'), o(1, 'free', 'g1', 'iopf_free_group'), o(2, 'use', 'g1', 'handle')])?.message).toBe(
      'use after free: kw (handle) touched g1, freed at step 1 by kw (iopf_free_group)',
    );
    expect(feed(noUseAfterFree, [o(0, 'free', 'g1'), o(1, 'free', 'g1')])?.message).toMatch(/^double free/);
  });
  it('accepts use before free', () => {
    expect(feed(noUseAfterFree, [o(0, 'alloc', 'g1'), o(1, 'use', 'g1'), o(2, 'free', 'g1')])).toBeNull();
  });
});

describe('pasid-not-reused-while-queued', () => {
  it('fails when a group holds a fault of an earlier binding', () => {
    const s = step(0, { obs: [obs('iopf.dev0', { what: 'attach-handle', gid: 'group:dev0#3', dev: 'dev0', pasid: 1, gen: 1, bonds: [1, 0] })] });
    expect(feed(pasidBond, [s])?.message).toBe(
      'group:dev0#3 holds a fault issued under binding 0 of pasid 1 (dev0), but the report path found binding 1: a fault of the previous address space is handled in the new one',
    );
    expect(feed(pasidBond, [step(0, { obs: [obs('iopf.dev0', { what: 'attach-handle', gid: 'g', dev: 'dev0', pasid: 1, gen: 1, bonds: [1, 1] })] })])).toBeNull();
  });
});

describe('no-leak-on-destroy', () => {
  it('fails when a destroyed object keeps something it held', () => {
    const s = step(0, { obs: [obs('iommufd', { what: 'destroy', owner: 'iommufd', holds: ['fault->response (xarray)', 'fault->mutex'] }), obs('iommufd', { what: 'release', obj: 'fault->mutex' })] });
    expect(feed(noLeak, [s])?.message).toBe('iommufd destroyed without releasing fault->response (xarray)');
    const ok = step(0, { obs: [obs('iommufd', { what: 'destroy', owner: 'iommufd', holds: ['a'] }), obs('iommufd', { what: 'release', obj: 'a' })] });
    expect(feed(noLeak, [ok])).toBeNull();
  });
});
