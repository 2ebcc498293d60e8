/** Shared helpers of the vfio-scope tests. */
import type { ActorObservation, Monitor, QuiescenceView, StepRecord, Verdict } from '../../../core/model/monitor.ts';
import type { LockEvent } from '../../../core/model/locks.ts';
import type { Params } from '../../../core/model/scenario.ts';
import { vfioScopeScenario } from '../../../systems/vfio-scope/index.ts';
import type { VfioObs } from '../../../systems/vfio-scope/types.ts';

export const scenario = vfioScopeScenario;

export function defaults(over: Params = {}): Params {
  return { ...Object.fromEntries(scenario.parameters.map((p) => [p.name, p.default])), ...over };
}

export function variantParams(bug: string, over: Params = {}): Params {
  return defaults({ ...(scenario.bugs.find((b) => b.name === bug)?.params ?? {}), ...over });
}

export function step(i: number, actor: string, obs: ActorObservation[] = [], locks: LockEvent[] = []): StepRecord {
  return { i, t: i, step: `${actor}.STEP`, actor, event: { type: 'STEP' }, before: 'x', after: 'x', delivered: null, sent: [], obs, locks };
}

let seq = 0;
export function o<K extends keyof VfioObs & string>(actor: string, what: K, fields: VfioObs[K]): ActorObservation {
  return { what, actor, seq: seq++, ...fields } as ActorObservation;
}

export function lock(op: 'acquire' | 'release', lockName: string, by: string): LockEvent {
  return { op, lock: lockName, kind: 'mutex', mode: 'write', by, path: 'test', seq: seq++ };
}

/** Feed steps (then quiescence) to a fresh instance; the first verdict. */
export function feed(m: Monitor, steps: StepRecord[], q?: QuiescenceView, params: Params = defaults()): Verdict | null {
  const inst = m.create(params);
  for (const s of steps) {
    const v = inst.onStep?.(s);
    if (v) return v;
  }
  return q && inst.atQuiescence ? inst.atQuiescence(q) : null;
}

/** An iommu-unlock observation with sensible defaults. */
export function unlock(actor: string, over: Partial<VfioObs['iommu-unlock']> = {}): ActorObservation {
  return o(actor, 'iommu-unlock', {
    op: 'test',
    counter: 0,
    pinnedScope: false,
    mode: 'counter',
    tracking: false,
    lockedVm: 0,
    domains: 0,
    groups: [],
    dmas: [],
    gup: {},
    driver: {},
    ...over,
  });
}
