/**
 * The after-the-run check of a run whose threads raced freely (the mm's free mode): the stamped
 * history (every thread's events in the order a shared Atomics clock gave them) is fed, one event
 * per record, to fresh instances of the scenario's monitors that observe those events. The run's
 * step stream subscribes it (core/run.ts): it judges when the stream completes. The same monitors
 * judge inline and turnstile runs step by step.
 */
import type { Monitor, StepRecord, Violation } from './model/monitor.ts';
import type { Params } from './model/scenario.ts';
import type { HistoryEvent } from './model/executor.ts';
import { MonitorSet } from './monitors.ts';

/** Turn history events into step records (i = the stamp). */
export function historyRecords(events: HistoryEvent[]): StepRecord[] {
  return events.map((e) => ({
    i: e.s,
    t: 0,
    step: `history@${e.s}`,
    actor: e.actor,
    event: { type: 'mm' },
    before: '',
    after: '',
    delivered: null,
    sent: [],
    obs: e.obs ? [{ ...e.obs, actor: e.actor, seq: 0 }] : [],
    locks: e.lock ? [e.lock] : [],
  }));
}

/**
 * The first violation in the history, or null. `step` is the run's last scheduler step (the
 * history is judged after the run); the message names the offending stamp.
 */
export function checkHistory(monitors: Monitor[], params: Params, events: HistoryEvent[], step: number): Violation | null {
  const records = historyRecords(events);
  const kinds = new Set<string>();
  for (const r of records) {
    for (const o of r.obs) kinds.add(`obs:${o.what}`);
    if (r.locks.length) kinds.add('locks');
  }
  const relevant = monitors.filter((m) => m.observes.some((o) => kinds.has(o)));
  if (relevant.length === 0) return null;
  const set = new MonitorSet(relevant, params);
  for (const r of records) {
    const v = set.onStep(r);
    if (v) return { ...v, step, message: `free-mode history, stamp ${r.i}: ${v.message}` };
  }
  const q = set.atQuiescence({ step, actors: {}, undelivered: [] });
  return q ? { ...q, step, message: `free-mode history, at the end: ${q.message}` } : null;
}
