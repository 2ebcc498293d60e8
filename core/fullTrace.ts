/**
 * The full trace of a replayed schedule, as `replay --trace` writes it and the inspector reads
 * it: a `{"header":…}` line (the run's inputs and every actor's kind, machine, state and context
 * at the start, and the shared state's views), one line per step with the stepped actor's context
 * (and the shared state's views when the scenario has any), and an `{"end":…}` line (verdict, or
 * the error of an errored run, and trace hash). The step lines are `traceLine()` with a context
 * added; the hashed lines (without contexts) are not changed by any of this.
 */
import type { StepRecord, Violation } from './model/monitor.ts';
import type { Params } from './model/scenario.ts';
import type { LockEvent } from './model/locks.ts';
import { type ReplayTarget, replaySchedule } from './replayRun.ts';
import type { RunError, RunResult } from './run.ts';
import { traceLine } from './trace.ts';
import type { Schedule } from './schedule.ts';
import { valueString, type World } from './world.ts';

export interface TraceActor {
  /** Actor kind (core/model/kind.ts), namespaced by system. */
  kind: string;
  /** Id of the machine the actor runs. */
  machine: string;
  /** State value at the start (a state name, or JSON for a nested value). */
  value: string;
  context: unknown;
}

export interface TraceHeader {
  scenario: string;
  parameters: Params;
  bug: string | null;
  repro: string | null;
  schedule: Schedule;
  /** Every actor at step 0, in the order the scenario builds them. */
  actors: Record<string, TraceActor>;
  /** The shared state's views at step 0, by name (absent when the scenario has none). */
  shared?: Record<string, unknown>;
}

/** A step line as written: StepRecord with the delivered envelope's id and optional fields. */
export type TraceStep = Omit<StepRecord, 'delivered' | 'sent' | 'obs' | 'locks'> & {
  delivered?: number;
  sent?: StepRecord['sent'];
  obs?: StepRecord['obs'];
  locks?: LockEvent[];
  context?: unknown;
  /** The shared state's views after the step. */
  shared?: Record<string, unknown>;
};

export interface TraceEnd {
  steps: number;
  violation: Violation | null;
  traceHash: string;
  divergence: RunResult['divergence'] | null;
  /** The model threw at this step (an errored run). */
  error?: RunError;
}

export interface FullTrace {
  header: TraceHeader;
  steps: TraceStep[];
  end: TraceEnd;
}

/** The actors of a world as the header records them. */
export function traceActors(world: World): Record<string, TraceActor> {
  const out: Record<string, TraceActor> = {};
  for (const m of world.members) out[m.id] = { kind: m.kind.kind, machine: m.machine.id, value: valueString(m.snap.value), context: m.snap.context };
  return out;
}

/**
 * Replay `schedule` and hand each line of its full trace (JSON text, no newline) to `write`:
 * the header, the steps, the end.
 */
export function replayFullTrace(
  target: ReplayTarget,
  schedule: Schedule,
  meta: { repro: string | null },
  write: (line: string) => void,
): RunResult {
  const header = (actors: Record<string, TraceActor>, shared?: Record<string, unknown>): TraceHeader => ({
    scenario: target.scenario.name,
    parameters: target.params,
    bug: target.bug,
    repro: meta.repro,
    schedule,
    actors,
    ...(shared && Object.keys(shared).length ? { shared } : {}),
  });
  let started = false;
  let withShared = false;
  const r = replaySchedule(target, schedule, {
    onStart: (world) => {
      started = true;
      const shared = world.sharedViews();
      withShared = Object.keys(shared).length > 0;
      write(JSON.stringify({ header: header(traceActors(world), shared) }));
    },
    onStep: (rec, world) => {
      const line = traceLine(rec, world.contextOf(rec.actor));
      write(withShared ? `${line.slice(0, -1)},"shared":${JSON.stringify(world.sharedViews())}}` : line);
    },
  });
  // The world could not even be built (the model no longer fits the schedule's data).
  if (!started) write(JSON.stringify({ header: header({}) }));
  const end: TraceEnd = { steps: r.steps, violation: r.violation, traceHash: r.traceHash, divergence: r.divergence ?? null, ...(r.error ? { error: r.error } : {}) };
  write(JSON.stringify({ end }));
  return r;
}

/** Replay into memory. */
export function collectFullTrace(target: ReplayTarget, schedule: Schedule, meta: { repro: string | null }): { trace: FullTrace; result: RunResult } {
  const lines: string[] = [];
  const result = replayFullTrace(target, schedule, meta, (l) => lines.push(l));
  const parsed = lines.map((l) => JSON.parse(l));
  const trace: FullTrace = {
    header: parsed[0].header,
    steps: parsed.slice(1, -1),
    end: parsed[parsed.length - 1].end,
  };
  return { trace, result };
}
