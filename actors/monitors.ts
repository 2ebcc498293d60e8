/**
 * Runs a scenario's monitors over a run: each step goes only to the monitors that observe one
 * of its message types or observation kinds; at quiescence every liveness monitor judges.
 */
import type { Monitor, MonitorInstance, QuiescenceView, StepRecord, Violation } from '../machines/specs/types.ts';
import type { Params } from '../scenarios/types.ts';

export class MonitorSet {
  private readonly routes = new Map<string, { monitor: Monitor; inst: MonitorInstance }[]>();
  private readonly all: { monitor: Monitor; inst: MonitorInstance }[];

  constructor(monitors: Monitor[], params: Params) {
    this.all = monitors.map((monitor) => ({ monitor, inst: monitor.create(params) }));
    for (const m of this.all) {
      for (const o of m.monitor.observes) {
        const list = this.routes.get(o) ?? [];
        list.push(m);
        this.routes.set(o, list);
      }
    }
  }

  onStep(rec: StepRecord): Violation | null {
    const hit = new Set<{ monitor: Monitor; inst: MonitorInstance }>();
    const route = (k: string) => {
      const l = this.routes.get(k);
      if (l) for (const m of l) hit.add(m);
    };
    if (rec.delivered) route(rec.delivered.type);
    for (const e of rec.sent) route(e.type);
    for (const o of rec.obs) route(`obs:${o.what}`);
    if (rec.locks.length) route('locks');
    // Keep the scenario's monitor order so the first violation reported is deterministic.
    for (const m of this.all) {
      if (!hit.has(m) || !m.inst.onStep) continue;
      const v = m.inst.onStep(rec);
      if (v) return { ...v, monitor: m.monitor.name, step: rec.i };
    }
    return null;
  }

  atQuiescence(q: QuiescenceView): Violation | null {
    for (const m of this.all) {
      const v = m.inst.atQuiescence?.(q);
      if (v) return { ...v, monitor: m.monitor.name, step: q.step };
    }
    return null;
  }
}
