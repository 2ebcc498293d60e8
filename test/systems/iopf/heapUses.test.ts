/**
 * Freeing is observable everywhere: the paths that walk groups and partials (removal's walk of
 * the pending list, overflow discard, group assembly, workqueue dispatch) record a heap `use`,
 * so an object freed early is a use-after-free whichever path touches it next. The fault
 * parameter's transitions give the observations; no-use-after-free judges them.
 */
import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import type { ActorObservation, StepRecord } from '../../../core/model/monitor.ts';
import { faultParamMachine } from '../../../systems/iopf/machines/faultParam.ts';
import { workqueueMachine } from '../../../systems/iopf/machines/workqueue.ts';
import { noUseAfterFree } from '../../../systems/iopf/specs/index.ts';
import { pageReq } from '../../helpers.ts';

type Act = { type: string; params?: Record<string, unknown> };
const rec = (i: number, actor: string, acts: unknown[]): StepRecord => ({
  i,
  t: i,
  step: 'x',
  actor,
  event: { type: 'X' },
  before: 's',
  after: 's',
  delivered: null,
  sent: [],
  obs: (acts as Act[]).filter((a) => a.type === 'observe').map((a, seq): ActorObservation => ({ ...(a.params as { what: string }), actor, seq })),
  locks: [],
});
const freedEarly = (i: number, obj: string) => rec(i, 'x', [{ type: 'observe', params: { what: 'free', obj, by: 'a path that freed it early' } }]);

function feed(steps: StepRecord[]) {
  const inst = noUseAfterFree.create({});
  for (const s of steps) {
    const v = inst.onStep?.(s);
    if (v) return v;
  }
  return null;
}

function fp() {
  return initialTransition(faultParamMachine, { id: 'iopf.dev0', dev: 'dev0', iommu: 'iommu', wq: 'wq', iommufd: 'iommufd', handles: { 1: { gen: 0, handler: 'sva' as const } }, grouping: 'list', deferred: true })[0];
}

describe('uses recorded on walk, discard and dispatch paths', () => {
  it('removal walking the pending list touches a group freed early', () => {
    const [s1, a1] = transition(faultParamMachine, fp(), { type: 'REPORT_FAULT', fault: pageReq(0, 1, true) });
    const [s2] = transition(faultParamMachine, s1, { type: 'CALL_HANDLER' });
    const [, a3] = transition(faultParamMachine, s2, { type: 'QUEUE_REMOVE_DEVICE' });
    const v = feed([rec(0, 'iopf.dev0', a1), freedEarly(1, 'group:dev0#0'), rec(2, 'iopf.dev0', a3)]);
    expect(v?.message).toMatch(/use after free: iopf.dev0 \(iopf_queue_remove_device\) touched group:dev0#0/);
    // Not freed early: quiet.
    expect(feed([rec(0, 'iopf.dev0', a1), rec(2, 'iopf.dev0', a3)])).toBeNull();
  });

  it('the overflow discard and group assembly touch a partial freed early', () => {
    const [s1, a1] = transition(faultParamMachine, fp(), { type: 'REPORT_FAULT', fault: pageReq(0, 1, false) });
    const [, discard] = transition(faultParamMachine, s1, { type: 'DISCARD_PARTIAL' });
    expect(feed([rec(0, 'iopf.dev0', a1), freedEarly(1, 'iopf_fault:dev0#0'), rec(2, 'iopf.dev0', discard)])?.message).toMatch(/double free: .*iopf_queue_discard_partial.* iopf_fault:dev0#0/);
    const [, assemble] = transition(faultParamMachine, s1, { type: 'REPORT_FAULT', fault: pageReq(1, 2, true) });
    expect(feed([rec(0, 'iopf.dev0', a1), freedEarly(1, 'iopf_fault:dev0#0'), rec(2, 'iopf.dev0', assemble)])?.message).toMatch(/use after free: .*iopf_group_alloc.* iopf_fault:dev0#0/);
  });

  it('workqueue dispatch touches a queued group freed early', () => {
    const group = { gid: 'group:dev0#0', dev: 'dev0', faults: [pageReq(0, 1, true)], abort: false };
    const [w0] = initialTransition(workqueueMachine, { id: 'wq', kworkers: ['kworker0'] });
    const [w1] = transition(workqueueMachine, w0, { type: 'QUEUE_WORK', group });
    const [, dispatch] = transition(workqueueMachine, w1, { type: 'DISPATCH' });
    expect(feed([freedEarly(0, 'group:dev0#0'), rec(1, 'wq', dispatch)])?.message).toMatch(/use after free: wq \(process_one_work\) touched group:dev0#0/);
  });
});
