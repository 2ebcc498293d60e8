/**
 * The driver of a tree search (a strategy with `backtrack`, e.g. dfs): executions one after
 * another over one world, each departing from the previous one at the step `backtrack` names.
 * The world and the monitors are saved before every step of the current path; the next execution
 * starts from the saved state (`World.restore`, `MonitorSet.load`) instead of re-executing from
 * the root. When a monitor cannot save its state (not built with `stateful()`), or with
 * `restore: 'replay'`, the driver rebuilds the world and re-executes the path's prefix instead.
 *
 * Data choices made while the world is built (the workload: which requests each device issues)
 * come from the run seed, as a sampling run's do (`workload: 'seed'`): the search is exhaustive
 * over the schedules and the data choices made during the run for that workload; `--runs N`
 * searches the workloads of the first N run seeds. With `workload: 'branch'` the workload's draws
 * branch too.
 *
 * The state a choice is made in is hashed as the world's canonical hash plus the monitors' saved
 * state: two paths reaching equal worlds with different monitor state (one has seen a response a
 * monitor counts, the other not) are different states.
 */
import { createHash } from 'node:crypto';
import { Coverage } from './coverage.ts';
import { DataSource } from './dataSource.ts';
import type { Params, Scenario } from './model/scenario.ts';
import type { Violation } from './model/monitor.ts';
import { MonitorSet } from './monitors.ts';
import { StepErrors, subscribeStep } from './pipeline.ts';
import { runSeed } from './prng.ts';
import { type RunResult, firstLine } from './run.ts';
import { SCHEDULE_VERSION, type Schedule } from './schedule.ts';
import { RandomWalk } from './strategies/random.ts';
import type { ChoiceContext, DataDraw, ExecutionEnd, ExecutionInfo, Strategy } from './strategies/strategy.ts';
import { PRUNE } from './strategies/strategy.ts';
import { type EnabledStep, World, type WorldSnapshot } from './world.ts';
import type { EngineName } from './engine/engine.ts';
import { engineNamed } from './engine/index.ts';

export interface SearchOptions {
  scenario: Scenario;
  params: Params;
  bug: string | null;
  /** The exploration seed: workload w is drawn from run seed runSeed(seed, w). */
  seed: number;
  /** How many workloads (run seeds) to search, one after another. */
  workloads: number;
  maxSteps: number;
  /** A strategy with `backtrack`. */
  strategy: Strategy;
  /** Where the workload's draws come from: the run seed (default), or the search (branch). */
  workload?: 'seed' | 'branch';
  /** A fixed workload (`--workload FILE`) for every run: its draws are not made at all. */
  fixedWorkload?: unknown;
  /** How an execution gets back to where it departs: restore a saved state (default when the monitors can save theirs), or re-execute. */
  restore?: 'snapshot' | 'replay';
  /** Coverage collected over every executed step. */
  coverage?: Coverage;
  /** Checked after every execution: true stops the search. */
  shouldStop?: () => boolean;
  /** What advances the machines (default: the fast engine; the same search either way). */
  engine?: EngineName;
}

export interface SearchOutcome {
  executions: number;
  /** Steps executed (a step re-executed for another outcome of its data choices counts again). */
  transitions: number;
  /** The first violation: the execution's schedule and verdict, as a run's. */
  failing: { run: number; result: RunResult } | null;
  /** Executions that threw (a model error): the first few, with their schedules. */
  errored: { run: number; seed: number; step: number; error: string; schedule: Schedule }[];
  erroredCount: number;
  /** How executions got back to their departure: saved states or re-execution. */
  restore: 'snapshot' | 'replay';
  /** The monitors' state is part of the state hash (false: some monitor cannot save it). */
  monitorsHashed: boolean;
  interrupted: boolean;
}

interface Saved {
  world: WorldSnapshot;
  monitors: unknown[];
}

/** Routes the workload's draws (while the world is built) to the run seed's stream, the rest to the search. */
class Routed implements Strategy {
  readonly name: string;
  building = false;
  private readonly seeded = new RandomWalk();

  constructor(
    readonly inner: Strategy,
    private readonly branchWorkload: boolean,
  ) {
    this.name = inner.name;
  }

  newExecution(e: ExecutionInfo): void {
    this.seeded.newExecution(e);
    this.inner.newExecution(e);
  }

  choose(): number {
    throw new Error('unreachable');
  }

  chooseData(d: DataDraw): number {
    return this.building && !this.branchWorkload ? this.seeded.chooseData(d) : this.inner.chooseData(d);
  }
}

const MAX_ERRORED_KEPT = 10;

export function search(o: SearchOptions): SearchOutcome {
  const strategy = o.strategy;
  if (!strategy.backtrack) throw new Error(`strategy ${strategy.name} is not a tree search`);
  const routed = new Routed(strategy, o.workload === 'branch');
  const out: SearchOutcome = { executions: 0, transitions: 0, failing: null, errored: [], erroredCount: 0, restore: o.restore ?? 'snapshot', monitorsHashed: true, interrupted: false };

  for (let w = 0; w < o.workloads && !out.failing && !out.interrupted; w++) {
    const seed = runSeed(o.seed, w);
    let world: World | null = null;
    let monitors: MonitorSet | null = null;
    let data: DataSource | null = null;
    let choices: string[] = [];
    let saved: Saved[] = [];
    let violation: Violation | null = null;
    const errors = new StepErrors();
    let from = -1;

    const build = () => {
      world?.stop();
      data = new DataSource(routed);
      routed.building = true;
      world = new World(o.scenario, o.params, o.bug, data, { seed, engine: engineNamed(o.engine), workload: o.fixedWorkload });
      routed.building = false;
      const m = new MonitorSet(o.scenario.monitors, o.params);
      monitors = m;
      const w = world;
      subscribeStep(w.steps$, errors, (rec) => {
        violation ??= m.onStep(rec);
      });
      if (o.coverage) {
        const cov = o.coverage;
        cov.addWorld(w);
        subscribeStep(w.steps$, errors, (rec) => cov.onStep(rec));
      }
      choices = [];
      saved = [];
      violation = null;
      if (m.save() === null) {
        out.restore = 'replay';
        out.monitorsHashed = false;
      }
    };

    for (;;) {
      const resumeAt = out.restore === 'snapshot' && from > 0 && saved[from] ? from : -1;
      routed.newExecution({ run: w, seed, from: resumeAt });
      if (resumeAt < 0) build();
      else {
        const s = saved[resumeAt];
        world!.restore(s.world);
        monitors!.load(s.monitors);
        choices.length = resumeAt;
        saved.length = resumeAt + 1;
        violation = null;
      }
      const wd = world!;
      const mon = monitors!;
      let enabled: EnabledStep[] = [];
      const ctx: ChoiceContext = {
        footprint: (i) => wd.footprint(enabled[i]),
        stateHash: () => stateHash(wd, mon, out.monitorsHashed),
      };
      let k = Math.max(0, resumeAt);
      let end: ExecutionEnd;
      let errored: string | null = null;
      try {
        for (;;) {
          enabled = wd.enabled();
          if (enabled.length === 0) {
            violation = mon.atQuiescence(wd.quiescence(k));
            end = violation ? 'violation' : 'quiescent';
            break;
          }
          if (k >= o.maxSteps) {
            end = 'bound';
            break;
          }
          if (k > 0 && out.restore === 'snapshot' && saved[k] === undefined) saved[k] = { world: wd.snapshot(), monitors: mon.save()! };
          const i = strategy.choose(enabled, k, ctx);
          if (i === PRUNE) {
            end = 'pruned';
            break;
          }
          const pick = enabled[i];
          choices.push(pick.key);
          wd.execute(pick, k);
          if (k >= from) out.transitions++;
          k++;
          errors.check();
          if (violation) {
            end = 'violation';
            break;
          }
        }
      } catch (e) {
        errored = firstLine(e);
        end = 'pruned';
        // The world may be half-way through a step: the next execution rebuilds it.
        saved = [];
      }
      out.executions++;
      if (errored !== null) {
        if (out.errored.length < MAX_ERRORED_KEPT) out.errored.push({ run: w, seed, step: k, error: errored, schedule: schedule(seed, choices, data!) });
        out.erroredCount++;
      }
      if (violation) {
        const v: Violation = violation;
        out.failing = {
          run: w,
          result: { steps: k, violation: v, quiescent: end! === 'violation' && enabled.length === 0, schedule: schedule(seed, choices, data!), traceHash: '', metrics: {}, threads: 0 },
        };
        wd.stop();
        break;
      }
      const next = strategy.backtrack(end!, end! === 'quiescent' ? ctx : undefined);
      if (o.shouldStop?.()) out.interrupted = true;
      if (next === null || out.interrupted) {
        wd.stop();
        break;
      }
      from = next;
    }
  }
  return out;
}

function schedule(seed: number, choices: string[], data: DataSource): Schedule {
  return { version: SCHEDULE_VERSION, seed, choices: [...choices], data: data.recorded.map((d) => ({ ...d })) };
}

/** The world's canonical hash and the monitors' state. */
export function stateHash(world: World, monitors: MonitorSet, withMonitors: boolean): string {
  const w = world.hash();
  if (!withMonitors) return w;
  return createHash('sha256').update(w).update(canonicalJson(monitors.save())).digest('hex');
}

/** JSON with Maps and Sets as sorted entry lists, so equal contents give equal text. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) => {
    if (x instanceof Map) return ['$map', [...x].map(([k, y]) => [typeof k === 'string' ? k : JSON.stringify(k), y]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))];
    if (x instanceof Set) return ['$set', [...x].map((y) => (typeof y === 'string' ? y : JSON.stringify(y))).sort()];
    return x;
  });
}
