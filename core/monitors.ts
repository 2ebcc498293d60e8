/**
 * Runs a scenario's monitors over a run: each step goes only to the monitors that observe one
 * of its message types or observation kinds; at quiescence every liveness monitor judges.
 */
import type { Monitor, MonitorInstance, QuiescenceView, StepRecord, Violation } from './model/monitor.ts';
import type { Params } from './model/scenario.ts';

/** Mark the monitors of one route as routed in this call; whether there were any. */
function mark(list: Entry[] | undefined, call: number): boolean {
  if (list === undefined || list.length === 0) return false;
  for (let k = 0; k < list.length; k++) list[k].routed = call;
  return true;
}

interface Entry {
  monitor: Monitor;
  inst: MonitorInstance;
  /** The last onStep call routed to this monitor: marks it without a per-step set. */
  routed: number;
}

export class MonitorSet {
  /** Monitors by what they observe: message types, observation kinds (without "obs:"), lock events. */
  private readonly byMessage = new Map<string, Entry[]>();
  private readonly byObservation = new Map<string, Entry[]>();
  private readonly byLocks: Entry[] = [];
  private readonly all: Entry[];
  /** Those with a per-step judgement, in the scenario's order. */
  private readonly stepping: Entry[];
  private calls = 0;

  constructor(monitors: Monitor[], params: Params) {
    this.all = monitors.map((monitor) => ({ monitor, inst: monitor.create(params), routed: -1 }));
    this.stepping = this.all.filter((m) => m.inst.onStep);
    for (const m of this.stepping) {
      for (const o of m.monitor.observes) {
        if (o === 'locks') {
          this.byLocks.push(m);
          continue;
        }
        const [map, key] = o.startsWith('obs:') ? [this.byObservation, o.slice(4)] : [this.byMessage, o];
        const list = map.get(key) ?? [];
        list.push(m);
        map.set(key, list);
      }
    }
  }

  onStep(rec: StepRecord): Violation | null {
    const i = ++this.calls;
    let routed = false;
    if (rec.delivered) routed = mark(this.byMessage.get(rec.delivered.type), i) || routed;
    const sent = rec.sent;
    for (let k = 0; k < sent.length; k++) routed = mark(this.byMessage.get(sent[k].type), i) || routed;
    const obs = rec.obs;
    for (let k = 0; k < obs.length; k++) routed = mark(this.byObservation.get(obs[k].what), i) || routed;
    if (rec.locks.length) routed = mark(this.byLocks, i) || routed;
    if (!routed) return null;
    // Keep the scenario's monitor order so the first violation reported is deterministic.
    const stepping = this.stepping;
    for (let k = 0; k < stepping.length; k++) {
      const m = stepping[k];
      if (m.routed !== i) continue;
      const v = m.inst.onStep!(rec);
      if (v) return { ...v, monitor: m.monitor.name, step: rec.i };
    }
    return null;
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
