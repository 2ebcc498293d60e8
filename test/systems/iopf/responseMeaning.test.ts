/**
 * response-means-what-it-says on hand-built traces: each rule broken once (the monitor must fail,
 * naming the fault and the group), and the matching good trace (it must stay quiet).
 */
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../../core/bus.ts';
import type { ActorObservation, StepRecord } from '../../../core/model/monitor.ts';
import type { IopfGroup, PageRequest } from '../../../systems/iopf/machines/types.ts';
import { responseMeaning } from '../../../systems/iopf/specs/index.ts';
import { explore } from '../../../core/explore.ts';
import { iopfScenario } from '../../../systems/iopf/scenario.ts';
import { iopfDefaults, pageReq } from '../../helpers.ts';

let envId = 0;
const env = (from: string, to: string, type: string, payload: Record<string, unknown>): Envelope => ({ id: ++envId, from, to, type, payload, cause: null });
const step = (i: number, p: Partial<StepRecord>): StepRecord => ({ i, t: i, step: 'x', actor: 'x', event: { type: 'X' }, before: 's', after: 's', delivered: null, sent: [], obs: [], locks: [], ...p });
const obs = (actor: string, o: Record<string, unknown>): ActorObservation => ({ actor, what: String(o.what), seq: 0, ...o });

const A = 0x10000;
const B = 0x11000;
const r0 = pageReq(0, 1, false, { addr: A, perm: 1 });
const r1 = pageReq(1, 1, true, { addr: B, perm: 3 });
const group: IopfGroup = { gid: 'group:dev0#0', dev: 'dev0', faults: [r0, r1], abort: false };

/** The device sends both requests; the report path assembles the group; a kworker takes it. */
function prologue(): StepRecord[] {
  const send = (i: number, r: PageRequest) => step(i, { actor: 'dev0', sent: [env('dev0', 'iommu', 'PAGE_REQ', { req: r })] });
  return [
    send(0, r0),
    send(1, r1),
    step(2, { actor: 'iopf.dev0', obs: [obs('iopf.dev0', { what: 'group-assembled', gid: group.gid, dev: 'dev0', grpid: 1, reqIds: ['dev0#0', 'dev0#1'] })] }),
    step(3, { actor: 'kworker0', delivered: env('wq', 'kworker0', 'RUN_GROUP', { group }) }),
  ];
}
const handled = (i: number, r: PageRequest, status: 'SUCCESS' | 'INVALID', pte?: number) =>
  step(i, {
    actor: 'kworker0',
    obs: [
      ...(pte !== undefined ? [obs('mm', { what: 'pte-set', addr: r.addr, pfn: 7, prot: pte, oldPfn: 0, oldProt: 0, by: 'handle_mm_fault' })] : []),
      obs('kworker0', { what: 'fault-handled', gid: group.gid, reqId: r.reqId, addr: r.addr, access: r.perm, status }),
    ],
  });
const respond = (i: number, code: string, path = 'iopf_group_response') =>
  step(i, { actor: 'iopf.dev0', obs: [obs('iopf.dev0', { what: 'page-response', gid: group.gid, dev: 'dev0', grpid: 1, code, path })] });
const zap = (i: number, addr: number) => step(i, { actor: 'proc', obs: [obs('mm', { what: 'pte-zap', addr, pfn: 7, op: 'munmap' })] });

function feed(steps: StepRecord[]) {
  const inst = responseMeaning.create({});
  for (const s of steps) {
    const v = inst.onStep?.(s);
    if (v) return v;
  }
  return null;
}

describe('response-means-what-it-says', () => {
  it('is quiet on SUCCESS after every fault succeeded with its page present, and on a munmap after the handling', () => {
    expect(feed([...prologue(), handled(4, r0, 'SUCCESS', 1), handled(5, r1, 'SUCCESS', 3), respond(6, 'SUCCESS')])).toBeNull();
    expect(feed([...prologue(), handled(4, r0, 'SUCCESS', 1), handled(5, r1, 'SUCCESS', 3), zap(6, A), respond(7, 'SUCCESS')])).toBeNull();
  });

  it('fails on a SUCCESS sent before the last fault of the group was handled', () => {
    const v = feed([...prologue(), handled(4, r0, 'SUCCESS', 1), respond(5, 'SUCCESS')]);
    expect(v?.message).toMatch(/answered group:dev0#0 \(grpid 1\) SUCCESS before handle_mm_fault of dev0#1 returned/);
  });

  it('fails on a SUCCESS after a failed fault (errors not sticky)', () => {
    const v = feed([...prologue(), handled(4, r0, 'INVALID'), handled(5, r1, 'SUCCESS', 3), respond(6, 'SUCCESS')]);
    expect(v?.message).toMatch(/SUCCESS although handle_mm_fault of dev0#0 returned INVALID at step 4/);
  });

  it('fails on a SUCCESS when a page lacks the access and no munmap/mprotect came after its fault', () => {
    // B was asked for read+write and is mapped read-only; a zap of B *before* its fault does not excuse it.
    const v = feed([...prologue(), zap(4, B), handled(5, r0, 'SUCCESS', 1), handled(6, r1, 'SUCCESS', 1), respond(7, 'SUCCESS')]);
    expect(v?.message).toMatch(/page 0x11000 of dev0#1 is mapped with prot 1, not 3, and no munmap\/mprotect removed it after the fault was handled at step 6/);
  });

  it('fails on the handler answering INVALID when every fault succeeded, and is quiet when one failed or on removal', () => {
    const v = feed([...prologue(), handled(4, r0, 'SUCCESS', 1), handled(5, r1, 'SUCCESS', 3), respond(6, 'INVALID')]);
    expect(v?.message).toMatch(/INVALID although handle_mm_fault succeeded for every fault/);
    expect(feed([...prologue(), handled(4, r0, 'INVALID'), respond(5, 'INVALID')])).toBeNull();
    expect(feed([...prologue(), respond(4, 'INVALID', 'iopf_queue_remove_device')])).toBeNull();
  });

  it('fails on SUCCESS for a group no handler ran (err_abort)', () => {
    const v = feed([...prologue().slice(0, 3), respond(3, 'SUCCESS', 'iommu_report_device_fault:err_abort')]);
    expect(v?.message).toMatch(/SUCCESS although no handler ran its faults/);
  });
});

describe('fixed IOPF model with the response and leak monitors', () => {
  it('is clean over 300 PCT runs (deferred and not), every run reaching quiescence with requests answered', () => {
    const names = iopfScenario.monitors.map((m) => m.name);
    expect(names).toContain('response-means-what-it-says');
    expect(names).toContain('no-leak-at-quiescence');
    for (const [params, runs] of [[{}, 200], [{ deferred: false }, 100]] as const) {
      const r = explore({ scenario: iopfScenario, params: iopfDefaults(params), bug: null, runs, seed: 10, strategy: 'pct', depth: 3, maxSteps: 20000 });
      expect(r.firstViolation, JSON.stringify(params)).toBeNull();
      expect(r.metrics.quiescentRuns).toBe(runs);
      expect(r.metrics.answeredRequests).toBeGreaterThan(runs * 2);
    }
  });
});
