/**
 * One run: build the world, let the strategy pick among enabled steps until quiescence, the step
 * bound or a violation, and return the schedule, the trace hash and the verdict. A run is a pure
 * function of (scenario, parameters, bug, seed, strategy).
 *
 * Everything that looks at steps subscribes to the world's step stream: the trace hasher (over
 * each step's compact record) and the writer (JSON lines, only when a trace is written), the scenario's metrics observer, the monitors, and the thread executor's history check
 * (free mode: the stamped memory history is judged when the stream completes). A step that throws,
 * here or in a subscriber, ends the run as errored at that step: a model bug never reads as a race.
 */
import { DataSource } from './dataSource.ts';
import { checkHistory } from './history.ts';
import type { EngineName } from './engine/engine.ts';
import { engineNamed } from './engine/index.ts';
import type { ExecRuntime } from './model/executor.ts';
import type { QuiescenceView, StepRecord, Violation } from './model/monitor.ts';
import type { Params, Scenario } from './model/scenario.ts';
import { MonitorSet } from './monitors.ts';
import { StepErrors, subscribeStep } from './pipeline.ts';
import { SCHEDULE_VERSION, type Schedule } from './schedule.ts';
import { DataDivergence, ScheduleDivergence } from './strategies/replay.ts';
import type { Strategy } from './strategies/strategy.ts';
import { TraceHasher, traceLine } from './trace.ts';
import { World } from './world.ts';

export interface RunConfig {
  scenario: Scenario;
  params: Params;
  bug: string | null;
  seed: number;
  /** The run's index in its exploration (0 for a single run). */
  run?: number;
  /** The exploration's strategy: told about this execution, then asked for every choice. */
  strategy: Strategy;
  maxSteps: number;
  /** Receives each trace line; with `contexts`, lines carry the stepped actor's context. */
  onTrace?: (line: string) => void;
  contexts?: boolean;
  /** Called once with the world before the first step (full traces record the actors' start). */
  onStart?: (world: World) => void;
  /** Each step's record, after the monitors saw it. */
  onStep?: (rec: StepRecord, world: World) => void;
  /** The execution runtime (inline when absent). */
  runtime?: ExecRuntime;
  /** Check every step against its declared footprint (tests). */
  checkFootprints?: boolean;
  /** What advances the machines (default: the fast engine). Same trace either way. */
  engine?: EngineName;
  /** A fixed workload (the scenario's workload vocabulary); absent: drawn from the data source. */
  workload?: unknown;
}

/** A step (or the world's building, step -1) that threw. */
export interface RunError {
  step: number;
  /** The error's first line. */
  message: string;
}

export interface RunResult {
  steps: number;
  violation: Violation | null;
  /** True when the run ended with no enabled step (not at the step bound or a violation). */
  quiescent: boolean;
  schedule: Schedule;
  traceHash: string;
  metrics: Record<string, number>;
  /** Threads (actors) that took at least one step: PCT's n. */
  threads: number;
  divergence?: { step: number; message: string; expected: string; enabled: string[] };
  /** The model threw: the run is errored, not clean and not a violation. */
  error?: RunError;
}

export function runOnce(cfg: RunConfig): RunResult {
  cfg.strategy.newExecution({ run: cfg.run ?? 0, seed: cfg.seed });
  const data = new DataSource(cfg.strategy);
  const choices: string[] = [];
  const hasher = new TraceHasher();
  const errors = new StepErrors();
  const threads = new Set<string>();
  let world: World | null = null;
  let violation: Violation | null = null;
  let quiescent = false;
  let steps = 0;
  /** The step being decided or executed (-1: building the world). */
  let at = -1;
  let divergence: RunResult['divergence'];
  let error: RunError | undefined;
  let metrics: Record<string, number> = {};
  try {
    world = new World(cfg.scenario, cfg.params, cfg.bug, data, { runtime: cfg.runtime, seed: cfg.seed, checkFootprints: cfg.checkFootprints, engine: engineNamed(cfg.engine), workload: cfg.workload });
    const w = world;
    const monitors = new MonitorSet(cfg.scenario.monitors, cfg.params);
    const observer = cfg.scenario.observer?.();
    const finish = (q: QuiescenceView) => ({ ...cfg.scenario.metrics(q), ...(observer?.result() ?? {}) });

    // The subscribers, in the order they see each step. The hash covers each step's compact
    // record; the JSON line is built only when a trace is written.
    subscribeStep(w.steps$, errors, (rec) => hasher.add(rec));
    if (cfg.onTrace) {
      const write = cfg.onTrace;
      subscribeStep(w.steps$, errors, cfg.contexts ? (rec) => write(traceLine(rec, w.contextOf(rec.actor))) : (rec) => write(traceLine(rec)));
    }
    if (observer) subscribeStep(w.steps$, errors, (rec) => observer.onStep(rec));
    subscribeStep(w.steps$, errors, (rec) => {
      violation ??= monitors.onStep(rec);
    });
    // Free mode: the stamped history of the threads' memory events, judged when the run's steps end.
    subscribeStep(w.steps$, errors, null, () => {
      if (violation || error || divergence) return;
      const history = w.history();
      if (history) violation = checkHistory(cfg.scenario.monitors, cfg.params, history, steps);
    });
    if (cfg.onStep) subscribeStep(w.steps$, errors, (rec) => cfg.onStep!(rec, w));

    cfg.onStart?.(w);
    for (;;) {
      at = steps;
      const enabled = w.enabled();
      if (enabled.length === 0) {
        quiescent = true;
        const q = w.quiescence(steps);
        violation = monitors.atQuiescence(q);
        metrics = finish(q);
        break;
      }
      if (steps >= cfg.maxSteps) {
        metrics = finish(w.quiescence(steps));
        break;
      }
      const pick = enabled[cfg.strategy.choose(enabled, steps)];
      choices.push(pick.key);
      threads.add(pick.thread);
      w.execute(pick, steps);
      steps++;
      errors.check();
      if (violation) {
        metrics = finish(w.quiescence(steps));
        break;
      }
    }
    w.steps$.complete();
    errors.check();
  } catch (e) {
    if (e instanceof ScheduleDivergence) {
      divergence = { step: e.step, message: e.message, expected: e.expected, enabled: e.enabled };
    } else if (e instanceof DataDivergence) {
      divergence = { step: steps, message: e.message, expected: e.expected, enabled: [e.actual] };
    } else {
      error = { step: at, message: firstLine(e) };
      violation = null;
    }
  } finally {
    world?.stop();
  }
  hasher.addData(data.recorded.map((d) => d.value));
  return {
    steps,
    violation,
    quiescent,
    schedule: { version: SCHEDULE_VERSION, seed: cfg.seed, choices, data: data.recorded },
    traceHash: hasher.digest(),
    metrics,
    threads: threads.size,
    divergence,
    ...(error ? { error } : {}),
  };
}

export function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0];
}
