/**
 * Runs a scenario's monitors over a run: each step goes only to the monitors that observe one
 * of its message types or observation kinds; at quiescence every liveness monitor judges.
 */
import type { Monitor, MonitorInstance, QuiescenceView, StepRecord, Violation } from './model/monitor.ts';
import type { Params } from './model/scenario.ts';

interface Entry {
  monitor: Monitor;
  inst: MonitorInstance;
  /** The last onStep call routed to this monitor: marks it without a per-step set. */
  routed: number;
}

export class MonitorSet {
  private readonly routes = new Map<string, Entry[]>();
  private readonly all: Entry[];
  private calls = 0;

  constructor(monitors: Monitor[], params: Params) {
    this.all = monitors.map((monitor) => ({ monitor, inst: monitor.create(params), routed: -1 }));
    for (const m of this.all) {
      for (const o of m.monitor.observes) {
        const list = this.routes.get(o) ?? [];
        list.push(m);
        this.routes.set(o, list);
      }
    }
  }

  onStep(rec: StepRecord): Violation | null {
    const i = ++this.calls;
    if (rec.delivered) this.route(rec.delivered.type, i);
    for (const e of rec.sent) this.route(e.type, i);
    for (const o of rec.obs) this.route(`obs:${o.what}`, i);
    if (rec.locks.length) this.route('locks', i);
    // Keep the scenario's monitor order so the first violation reported is deterministic.
    for (const m of this.all) {
      if (m.routed !== i || !m.inst.onStep) continue;
      const v = m.inst.onStep(rec);
      if (v) return { ...v, monitor: m.monitor.name, step: rec.i };
    }
    return null;
  }

  private route(key: string, call: number): void {
    const l = this.routes.get(key);
    if (l) for (const m of l) m.routed = call;
  }

  /**
   * Every monitor's state, for exhaustive search to restore with the world. Null when a monitor
   * cannot save its state (not built with `stateful()`): then the search cannot restore monitors.
   */
  save(): unknown[] | null {
    const out: unknown[] = [];
    for (const m of this.all) {
      if (!m.inst.save) return null;
      out.push(m.inst.save());
    }
    return out;
  }

  load(states: unknown[]): void {
    this.all.forEach((m, i) => m.inst.load!(states[i]));
  }

  atQuiescence(q: QuiescenceView): Violation | null {
    for (const m of this.all) {
      const v = m.inst.atQuiescence?.(q);
      if (v) return { ...v, monitor: m.monitor.name, step: q.step };
    }
    return null;
  }
}
