/**
 * One run: build the world, let the strategy pick among enabled steps until quiescence, the
 * step bound or a violation, and return the schedule, the trace hash and the verdict.
 * A run is a pure function of (scenario, parameters, bug, seed, strategy).
 */
import type { QuiescenceView, Violation } from './model/monitor.ts';
import type { Params, Scenario } from './model/scenario.ts';
import type { MmRuntime } from '../kernel/mm/runtime.ts';
import { type DataChoice, DataDivergence, DataSource } from './dataSource.ts';
import { checkHistory } from './history.ts';
import { MonitorSet } from './monitors.ts';
import { SCHEDULE_VERSION, type Schedule } from './schedule.ts';
import { ScheduleDivergence } from './strategies/replay.ts';
import type { Strategy } from './strategies/strategy.ts';
import { TraceHasher, traceLine } from './trace.ts';
import { World } from './world.ts';

export interface RunConfig {
  scenario: Scenario;
  params: Params;
  bug: string | null;
  seed: number;
  strategy: Strategy;
  maxSteps: number;
  /** Data choices to replay instead of drawing. */
  data?: readonly DataChoice[];
  /** Draw fresh data where the recorded choices do not fit (shrinking). */
  lenient?: boolean;
  /** Receives each trace line; with `contexts`, lines carry the stepped actor's context. */
  onTrace?: (line: string) => void;
  contexts?: boolean;
  /** Called once with the world before the first step (full traces record the actors' start). */
  onStart?: (world: World) => void;
  /** How memory and handle_mm_fault run (inline when absent). */
  mm?: MmRuntime;
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
}

export function runOnce(cfg: RunConfig): RunResult {
  const data = new DataSource(cfg.seed, cfg.data, cfg.lenient);
  const choices: string[] = [];
  const hasher = new TraceHasher();
  const threads = new Set<string>();
  let world: World | null = null;
  let violation: Violation | null = null;
  let quiescent = false;
  let steps = 0;
  let divergence: RunResult['divergence'];
  let metrics: Record<string, number> = {};
  try {
    world = new World(cfg.scenario, cfg.params, cfg.bug, data, { mm: cfg.mm, seed: cfg.seed });
    const monitors = new MonitorSet(cfg.scenario.monitors, cfg.params);
    const observer = cfg.scenario.observer?.();
    const finish = (q: QuiescenceView) => ({ ...cfg.scenario.metrics(q), ...(observer?.result() ?? {}) });
    cfg.onStart?.(world);
    for (;;) {
      const enabled = world.enabled();
      if (enabled.length === 0) {
        quiescent = true;
        const q = world.quiescence(steps);
        violation = monitors.atQuiescence(q);
        metrics = finish(q);
        break;
      }
      if (steps >= cfg.maxSteps) {
        metrics = finish(world.quiescence(steps));
        break;
      }
      const pick = enabled[cfg.strategy.choose(enabled, steps)];
      choices.push(pick.key);
      threads.add(pick.thread);
      const rec = world.execute(pick, steps);
      steps++;
      const line = traceLine(rec);
      hasher.add(line);
      if (cfg.onTrace) cfg.onTrace(cfg.contexts ? traceLine(rec, world.contextOf(rec.actor)) : line);
      observer?.onStep(rec);
      violation = monitors.onStep(rec);
      if (violation) {
        metrics = finish(world.quiescence(steps));
        break;
      }
    }
    // Free mode: the monitors judge the stamped memory history after the run.
    const history = violation ? null : world.history();
    if (history) violation = checkHistory(cfg.scenario.monitors, cfg.params, history, steps);
  } catch (e) {
    if (e instanceof ScheduleDivergence) {
      divergence = { step: e.step, message: e.message, expected: e.expected, enabled: e.enabled };
    } else if (e instanceof DataDivergence) {
      divergence = { step: steps, message: e.message, expected: e.expected, enabled: [e.actual] };
    } else {
      throw e;
    }
  } finally {
    world?.stop();
  }
  return {
    steps,
    violation,
    quiescent,
    schedule: { version: SCHEDULE_VERSION, seed: cfg.seed, choices, data: data.recorded },
    traceHash: hasher.digest(),
    metrics,
    threads: threads.size,
    divergence,
  };
}
