/**
 * The full trace of a replayed schedule, as `replay --trace` writes it and the inspector reads
 * it: a `{"header":…}` line (the run's inputs and every actor's kind, machine, state and context
 * at the start), one line per step with the stepped actor's context, and an `{"end":…}` line
 * (verdict and trace hash). The step lines are `traceLine()` with a context added; the hashed
 * lines (without contexts) are not changed by any of this.
 */
import type { StepRecord, Violation } from './model/monitor.ts';
import type { Params } from './model/scenario.ts';
import type { LockEvent } from './locks.ts';
import { type ReplayTarget, replaySchedule } from './replayRun.ts';
import type { RunResult } from './run.ts';
import type { Schedule } from './schedule.ts';
import { valueString, type World } from './world.ts';

export interface TraceActor {
  /** Actor kind (machines/kind.ts). */
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
}

/** A step line as written: StepRecord with the delivered envelope's id and optional fields. */
export type TraceStep = Omit<StepRecord, 'delivered' | 'sent' | 'obs' | 'locks'> & {
  delivered?: number;
  sent?: StepRecord['sent'];
  obs?: StepRecord['obs'];
  locks?: LockEvent[];
  context?: unknown;
};

export interface TraceEnd {
  steps: number;
  violation: Violation | null;
  traceHash: string;
  divergence: RunResult['divergence'] | null;
}

export interface FullTrace {
  header: TraceHeader;
  steps: TraceStep[];
  end: TraceEnd;
}

/** The actors of a world as the header records them. */
export function traceActors(world: World): Record<string, TraceActor> {
  const out: Record<string, TraceActor> = {};
  for (const m of world.members) {
    const snap = m.actor.getSnapshot();
    out[m.id] = { kind: m.kind.kind, machine: m.kind.machine.id, value: valueString(snap.value), context: snap.context };
  }
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
  const header = (actors: Record<string, TraceActor>): TraceHeader => ({
    scenario: target.scenario.name,
    parameters: target.params,
    bug: target.bug,
    repro: meta.repro,
    schedule,
    actors,
  });
  let started = false;
  const r = replaySchedule(target, schedule, {
    contexts: true,
    onStart: (world) => {
      started = true;
      write(JSON.stringify({ header: header(traceActors(world)) }));
    },
    onTrace: write,
  });
  // The world could not even be built (the model no longer fits the schedule's data).
  if (!started) write(JSON.stringify({ header: header({}) }));
  const end: TraceEnd = { steps: r.steps, violation: r.violation, traceHash: r.traceHash, divergence: r.divergence ?? null };
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
