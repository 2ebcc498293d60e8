/**
 * One run's world: the actors built from a scenario, the bus between them, the lock table,
 * shared memory, the virtual clock and the data source. It lists the steps enabled now and
 * executes the one the scheduler picks, producing the step's record.
 */
import { type AnyActor, createActor } from 'xstate';
import type { ActorKind, Ports, WorldView } from './model/kind.ts';
import type { ActorObservation, ActorSnapshotView, QuiescenceView, StepRecord } from './model/monitor.ts';
import type { Params, Scenario } from './model/scenario.ts';
import type { FaultRunner } from '../kernel/mm/faultRunner.ts';
import type { MemoryPort } from '../kernel/mm/memory.ts';
import { type HistoryEvent, type MmRuntime, type RunMemory, inlineRuntime } from '../kernel/mm/runtime.ts';
import { Bus, type Envelope } from './bus.ts';
import { VirtualClock } from './clock.ts';
import { DataSource } from './dataSource.ts';
import { bindEffects, withEffects } from './effects.ts';
import { LockTable } from './locks.ts';

export type EnabledStep =
  | { key: string; thread: string; type: 'deliver'; env: Envelope }
  | { key: string; thread: string; type: 'internal'; actor: string; event: { type: string; [k: string]: unknown } }
  | { key: string; thread: string; type: 'timer'; seq: number; owner: string };

interface Member {
  id: string;
  kind: ActorKind;
  actor: AnyActor;
}

const noLogger = () => {};

/** How the run executes memory and handle_mm_fault (default: inline) and the run seed. */
export interface WorldEnv {
  mm?: MmRuntime;
  seed?: number;
}

export class World {
  readonly bus = new Bus();
  readonly locks = new LockTable();
  readonly clock = new VirtualClock();
  readonly data: DataSource;
  readonly mem: MemoryPort;
  readonly faults: FaultRunner;
  readonly members: Member[] = [];
  private readonly byId = new Map<string, Member>();
  private readonly view: WorldView;
  private readonly ports: Ports;
  /** Buffers of the step being executed. */
  private stepObs: ActorObservation[] = [];
  private stepSent: Envelope[] = [];
  /** Orders a step's lock events and observations among themselves. */
  private stepSeq = 0;
  private cause: number | null = null;
  /** The run's memory in its mode (inline, turnstile, free). */
  private readonly runMem: RunMemory;
  /** The actor whose step is executing: memory observations are filed under it. */
  private stepActor = 'mm';
  /** Observations made while building the world (the initial address space): filed under step 0. */
  private pendingObs: ActorObservation[] = [];

  constructor(
    readonly scenario: Scenario,
    readonly params: Params,
    readonly bug: string | null,
    data: DataSource,
    env: WorldEnv = {},
  ) {
    this.data = data;
    const spec = scenario.build(params, bug, data);
    for (const l of spec.locks) this.locks.declare(l.name, l.kind);
    this.runMem = (env.mm ?? inlineRuntime).attach(spec.memory(this.locks), this.locks, env.seed ?? 0);
    this.mem = this.runMem.mem;
    this.faults = this.runMem.faults;
    this.mem.observer = (o) => {
      if (!this.runMem.observe(this.stepActor, o)) this.stepObs.push({ ...o, actor: this.stepActor, seq: this.stepSeq++ });
    };
    this.view = { canTake: (l, m) => this.locks.canTake(l, m), mem: this.mem, faults: this.faults };
    this.ports = { data, mem: this.mem, faults: this.faults, params, bug };
    for (const a of spec.actors) {
      const actor = createActor(withEffects(a.kind.machine), {
        id: a.id,
        systemId: a.id,
        input: a.input,
        clock: this.clock.forActor(a.id),
        logger: noLogger,
      });
      const member = { id: a.id, kind: a.kind, actor };
      bindEffects(actor, {
        send: (p) => this.stepSent.push(this.bus.send(a.id, p.to, p.type, p.payload, this.cause)),
        lock: (p) => this.locks.acquire(p.lock, p.thread ?? a.id, p.path, p.mode, p.irq, this.stepSeq++),
        unlock: (p) => this.locks.release(p.lock, p.thread ?? a.id, p.path, this.stepSeq++),
        observe: (o) => this.stepObs.push({ ...o, actor: a.id, seq: this.stepSeq++ }),
      });
      this.members.push(member);
      this.byId.set(a.id, member);
    }
    this.mem.announce();
    this.pendingObs = this.stepObs;
    this.stepObs = [];
    for (const m of this.members) m.actor.start();
  }

  /**
   * Every step that can run now, in a deterministic order. In free mode, when nothing can run but
   * a kworker thread is still working, wait for it first.
   */
  enabled(): EnabledStep[] {
    for (;;) {
      const out = this.enabledNow();
      if (out.length > 0 || !this.runMem.waitForProgress()) return out;
    }
  }

  private enabledNow(): EnabledStep[] {
    const out: EnabledStep[] = [];
    for (const ch of this.bus.openChannels()) {
      const env = ch.queue[0];
      const m = this.byId.get(env.to);
      if (!m) throw new Error(`message ${env.type} from ${env.from} to unknown actor ${env.to}`);
      if (m.kind.accepts && !m.kind.accepts(m.actor.getSnapshot(), { type: env.type, ...env.payload }, this.view)) continue;
      out.push({ key: ch.key, thread: env.to, type: 'deliver', env });
    }
    for (const m of this.members) {
      for (const o of m.kind.offers(m.actor.getSnapshot(), this.view)) {
        const key = `${m.id}.${o.event.type}${o.label ? `[${o.label}]` : ''}`;
        out.push({ key, thread: m.id, type: 'internal', actor: m.id, event: o.event as { type: string; [k: string]: unknown } });
      }
    }
    const t = this.clock.nextTimer();
    if (t) out.push({ key: `${t.owner}.timer#${t.seq}`, thread: t.owner, type: 'timer', seq: t.seq, owner: t.owner });
    return out;
  }

  /** Execute one step and describe it. */
  execute(step: EnabledStep, index: number): StepRecord {
    this.stepObs = this.pendingObs;
    this.pendingObs = [];
    this.stepSent = [];
    // Observations carried over (the initial address space) keep their places at the front.
    this.stepSeq = this.stepObs.reduce((m, o) => Math.max(m, o.seq + 1), 0);
    let actorId: string;
    let event: { type: string; [k: string]: unknown };
    let delivered: Envelope | null = null;
    let before: string;
    if (step.type === 'timer') {
      actorId = step.owner;
      this.stepActor = actorId;
      before = this.valueOf(actorId);
      this.cause = null;
      event = { type: 'xstate.timer', seq: step.seq };
      this.clock.fire(step.seq);
    } else {
      let m: Member;
      if (step.type === 'deliver') {
        delivered = this.bus.take(step.env.from, step.env.to);
        m = this.member(delivered.to);
        event = { type: delivered.type, ...delivered.payload };
        this.cause = delivered.id;
        this.bus.delivered$.next(delivered);
      } else {
        m = this.member(step.actor);
        event = step.event;
        this.cause = null;
      }
      actorId = m.id;
      this.stepActor = actorId;
      before = this.valueOf(actorId);
      if (m.kind.prepare) event = m.kind.prepare(m.actor.getSnapshot(), event, this.ports, m.id) as typeof event;
      m.actor.send(event);
    }
    this.clock.tick();
    return {
      i: index,
      t: this.clock.now,
      step: step.key,
      actor: actorId,
      event,
      before,
      after: this.valueOf(actorId),
      delivered,
      sent: this.stepSent,
      obs: this.stepObs,
      locks: this.locks.drainEvents(),
    };
  }

  quiescence(step: number): QuiescenceView {
    const actors: Record<string, ActorSnapshotView> = {};
    for (const m of this.members) {
      const s = m.actor.getSnapshot();
      actors[m.id] = { kind: m.kind.kind, value: valueString(s.value), context: s.context };
    }
    return { step, actors, undelivered: this.bus.undelivered() };
  }

  /** Context of one actor (for full traces and the inspector). */
  contextOf(id: string): unknown {
    return this.member(id).actor.getSnapshot().context;
  }

  /** Free mode: the run's stamped memory history (in-flight thread work is stopped first); else null. */
  history(): HistoryEvent[] | null {
    return this.runMem.history();
  }

  stop(): void {
    for (const m of this.members) m.actor.stop();
    this.bus.complete();
    this.runMem.close();
  }

  private member(id: string): Member {
    const m = this.byId.get(id);
    if (!m) throw new Error(`unknown actor ${id}`);
    return m;
  }

  private valueOf(id: string): string {
    return valueString(this.member(id).actor.getSnapshot().value);
  }
}

export function valueString(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}
