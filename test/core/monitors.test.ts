/** MonitorSet routing: a step reaches only the monitors observing one of its types, in scenario order. */
import { describe, expect, it } from 'vitest';
import { MonitorSet } from '../../core/monitors.ts';
import type { Monitor, StepRecord } from '../../core/model/monitor.ts';

function recorder(name: string, observes: string[], seen: string[], failOn?: string): Monitor {
  return {
    name,
    description: 'test monitor',
    kind: 'safety',
    observes,
    create: () => ({
      onStep(rec) {
        seen.push(`${name}@${rec.i}`);
        return rec.step === failOn ? { message: `${name} saw ${rec.step}`, actors: [rec.actor], messages: [] } : null;
      },
    }),
  };
}

const env = (type: string, id = 1) => ({ id, from: 'a', to: 'b', type, payload: {}, cause: null });
const rec = (i: number, over: Partial<StepRecord>): StepRecord => ({ i, t: i, step: `s${i}`, actor: 'a', event: { type: 'X' }, before: 'x', after: 'x', delivered: null, sent: [], obs: [], locks: [], ...over });

describe('MonitorSet', () => {
  it('routes by delivered and sent type, observation kind and locks; never a monitor that observes none of them', () => {
    const seen: string[] = [];
    const set = new MonitorSet([recorder('req', ['PAGE_REQ'], seen), recorder('obs', ['obs:pte-installed'], seen), recorder('locks', ['locks'], seen)], {});
    set.onStep(rec(0, { delivered: env('PAGE_REQ') }));
    set.onStep(rec(1, { sent: [env('PAGE_RESPONSE')] }));
    set.onStep(rec(2, { obs: [{ what: 'pte-installed', actor: 'k', seq: 0 }] }));
    set.onStep(rec(3, { locks: [{ op: 'acquire', lock: 'l', kind: 'mutex', mode: 'write', by: 'k', path: 'p' }], sent: [env('PAGE_REQ')] }));
    expect(seen).toEqual(['req@0', 'obs@2', 'req@3', 'locks@3']);
  });

  it('does not carry a route over to a later step that repeats the step index', () => {
    const seen: string[] = [];
    const set = new MonitorSet([recorder('req', ['PAGE_REQ'], seen), recorder('resp', ['PAGE_RESPONSE'], seen)], {});
    set.onStep(rec(4, { sent: [env('PAGE_REQ')] }));
    set.onStep(rec(4, { sent: [env('PAGE_RESPONSE')] }));
    expect(seen).toEqual(['req@4', 'resp@4']);
  });

  it('reports the first violating monitor in scenario order, at the step index', () => {
    const seen: string[] = [];
    const set = new MonitorSet([recorder('first', ['PAGE_REQ'], seen, 's9'), recorder('second', ['PAGE_REQ'], seen, 's9')], {});
    expect(set.onStep(rec(8, { sent: [env('PAGE_REQ')] }))).toBeNull();
    expect(set.onStep(rec(9, { sent: [env('PAGE_REQ')] }))).toMatchObject({ monitor: 'first', step: 9, message: 'first saw s9' });
  });
});
