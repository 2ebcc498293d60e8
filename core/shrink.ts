/**
 * Shrink a failing schedule: fewer injected faults (data choices the model drew as faults), then
 * fewer steps; never more faults than it started with. A candidate is kept when
 * a lenient replay of it still fails with the same monitor in no more steps; what is kept is the
 * schedule that run actually took, so it replays strictly.
 */
import type { RunResult } from './run.ts';
import { type ReplayTarget, replaySchedule } from './replayRun.ts';
import type { Schedule } from './schedule.ts';

export interface ShrinkResult {
  schedule: Schedule;
  result: RunResult;
  attempts: number;
}

/** Injected faults a schedule carries. */
export function injected(s: Schedule): number {
  let n = 0;
  for (const d of s.data) if (d.fault && d.value === 1) n++;
  return n;
}

export function shrink(t: ReplayTarget, start: Schedule, monitor: string, budget = 300): ShrinkResult {
  let best = start;
  let bestRun = replaySchedule(t, start);
  let attempts = 1;
  const better = (cand: Schedule): boolean => {
    if (attempts >= budget) return false;
    attempts++;
    const r = replaySchedule(t, cand, { lenient: true });
    // A lenient replay draws fresh data where the recorded choices no longer fit: that can inject
    // new faults, which a smaller repro must not have.
    if (r.violation?.monitor !== monitor || r.steps > bestRun.steps || injected(r.schedule) > injected(best)) return false;
    const strict = replaySchedule(t, r.schedule);
    if (strict.violation?.monitor !== monitor) return false;
    best = r.schedule;
    bestRun = strict;
    return true;
  };

  // Fewer faults: switch off one injected fault at a time.
  for (let i = 0; i < best.data.length; i++) {
    const d = best.data[i];
    if (d.value === 1 && d.fault) {
      const data = best.data.map((x, j) => (j === i ? { ...x, value: 0 } : x));
      better({ ...best, data });
    }
  }

  // Fewer steps: drop chunks of choices, halving the chunk size (ddmin-like).
  for (let chunk = Math.max(1, Math.floor(best.choices.length / 2)); chunk >= 1; chunk = Math.floor(chunk / 2)) {
    for (let at = 0; at < best.choices.length && attempts < budget; ) {
      const choices = [...best.choices.slice(0, at), ...best.choices.slice(at + chunk)];
      if (!better({ ...best, choices })) at += chunk;
    }
    if (chunk === 1) break;
  }
  return { schedule: best, result: bestRun, attempts };
}
