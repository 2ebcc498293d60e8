/**
 * One run's world: the actors built from a scenario, the bus between them, the lock table, the
 * scenario's shared state, the virtual clock and the data source. It lists the steps enabled now,
 * executes the one the scheduler picks and emits the step's record on `steps$`.
 *
 * Actors are data. Each one is its machine's snapshot; a step advances it through the actor engine
 * (core/engine/: xstate's pure transition function, or the fast engine's compiled form of the same
 * machine definitions), which hands the effects back as data (send, lock, unlock, observe, delayed
 * events) and the world applies them itself. That is what makes a world snapshot, restore and hash
 * possible. The fast engine updates snapshots in place: `snapshot()` copies them.
 */
import { createHash } from 'node:crypto';
import { Subject } from 'rxjs';
import type { AnyMachineSnapshot, AnyStateMachine, EventObject } from 'xstate';
import { type ActorEngine, type EffectSink, engineNamed } from './engine/index.ts';
import type { LockParams, Observation, SendParams } from './model/effects.ts';
import { INLINE, type ExecRuntime, type HistoryEvent, type RunExec } from './model/executor.ts';
import type { ActorKind, DataPort, Footprint, Ports, WorldView } from './model/kind.ts';
import type { ActorObservation, ActorSnapshotView, QuiescenceView, StepRecord } from './model/monitor.ts';
import type { BugVariant, Params, Scenario } from './model/scenario.ts';
import type { SharedState } from './model/shared.ts';
import { Bus, type BusSnapshot, type Channel, type Envelope, channelKey } from './bus.ts';
import { type ClockSnapshot, VirtualClock } from './clock.ts';
import { LockTable, type LockTableSnapshot } from './locks.ts';

export type EnabledStep =
  | { key: string; thread: string; type: 'deliver'; env: Envelope }
  | { key: string; thread: string; type: 'internal'; actor: string; event: { type: string; [k: string]: unknown } }
  | { key: string; thread: string; type: 'timer'; seq: number; owner: string };

/** A delivery: the head of a channel. */
class DeliverStep {
  readonly type = 'deliver';
  constructor(
    readonly ch: Channel,
    readonly env: Envelope,
  ) {}
  get key(): string {
    return this.ch.key;
  }
  get thread(): string {
    return this.env.to;
  }
}

/** A step an actor offers. Its key is built only when asked for (the chosen step's, mostly). */
class OfferStep {
  readonly type = 'internal';
  private k: string | undefined = undefined;
  constructor(
    readonly actor: string,
    readonly event: { type: string; [k: string]: unknown },
    private readonly label: string | undefined,
  ) {}
  get thread(): string {
    return this.actor;
  }
  get key(): string {
    return (this.k ??= this.label ? `${this.actor}.${this.event.type}[${this.label}]` : `${this.actor}.${this.event.type}`);
  }
}

/** Shared by every record of a step that sent, observed or locked nothing. */
const NONE: never[] = Object.freeze([]) as unknown as never[];

/** What a step may touch, for partial-order reduction: its actor, channel, locks and shared state. */
export interface StepFootprint {
  actor: string;
  /** The channel a delivery takes its message from. */
  channel?: string;
  locks: readonly string[];
  reads: readonly string[];
  writes: readonly string[];
}

/** Two steps are dependent when they belong to one actor, share a lock, or conflict on shared state. */
export function dependent(a: StepFootprint, b: StepFootprint): boolean {
  if (a.actor === b.actor) return true;
  for (const l of a.locks) if (b.locks.includes(l)) return true;
  const hits = (xs: readonly string[], ys: readonly string[]) => xs.some((x) => ys.some((y) => x === y || x.startsWith(`${y}:`) || y.startsWith(`${x}:`)));
  return hits(a.writes, b.writes) || hits(a.writes, b.reads) || hits(a.reads, b.writes);
}

interface Member {
  id: string;
  kind: ActorKind;
  /** The kind's machine, with the variant's substitutions. */
  machine: AnyStateMachine;
  snap: AnyMachineSnapshot;
  // The kind's functions, bound once: every step calls them (one call site per use, not one per kind).
  offers: ActorKind['offers'];
  accepts: NonNullable<ActorKind['accepts']> | null;
  prepare: NonNullable<ActorKind['prepare']> | null;
  /** The member's part of the world hash, kept until its snapshot changes (a step or a restore). */
  canon?: string;
}

/** Everything that changes during a run, as data: restore(snapshot()) puts the world back exactly. */
export interface WorldSnapshot {
  members: AnyMachineSnapshot[];
  bus: BusSnapshot;
  locks: LockTableSnapshot;
  clock: ClockSnapshot;
  /** Data choices made so far. */
  data: number;
  shared: unknown[];
}

export interface WorldEnv {
  /** The exploration's execution runtime (default inline). */
  runtime?: ExecRuntime;
  /** The run seed. */
  seed?: number;
  /** Check every executed step against its declared footprint (tests; costs time). */
  checkFootprints?: boolean;
  /** What advances the actors' machines (default: the fast engine). */
  engine?: ActorEngine;
  /** A fixed workload (validated against the scenario's workload schema); absent: drawn from `data`. */
  workload?: unknown;
}

/** The data source as the world records it: its choices so far, to truncate on restore. */
export interface WorldData extends DataPort {
  readonly length: number;
  truncate(n: number): void;
}

export class World {
  readonly bus = new Bus();
  readonly locks = new LockTable();
  readonly clock = new VirtualClock();
  readonly members: Member[] = [];
  readonly shared: SharedState[] = [];
  /** Every executed step's record, in order; completes when the world stops. */
  readonly steps$ = new Subject<StepRecord>();
  private readonly byId = new Map<string, Member>();
  private readonly sharedByName = new Map<string, SharedState>();
  private readonly view: WorldView;
  private readonly ports: Ports;
  private readonly exec: RunExec;
  /** Buffers of the step being executed. */
  private stepObs: ActorObservation[] = [];
  private stepSent: Envelope[] = [];
  /** Orders a step's lock events and observations among themselves. */
  private stepSeq = 0;
  private cause: number | null = null;
  /** The actor whose step is executing: shared-state observations are filed under it. */
  private stepActor = '';
  /** Observations made while building the world (the initial shared state): filed under step 0. */
  private pendingObs: ActorObservation[] = [];
  /** Shared state a step asked for (footprint check). */
  private touched: Set<string> | null = null;
  readonly engine: ActorEngine;

  constructor(
    readonly scenario: Scenario,
    readonly params: Params,
    readonly bug: string | null,
    readonly data: WorldData,
    env: WorldEnv = {},
  ) {
    this.engine = env.engine ?? engineNamed();
    const workload = env.workload !== undefined ? env.workload : scenario.workload?.draw(params, data);
    const spec = scenario.build(params, bug, data, workload);
    for (const l of spec.locks) this.locks.declare(l.name, l.kind);
    const setup = spec.shared?.({ locks: this.locks, runtime: env.runtime ?? INLINE, seed: env.seed ?? 0 }) ?? { states: [] };
    this.exec = setup.exec ?? {};
    for (const s of setup.states) {
      if (this.sharedByName.has(s.name)) throw new Error(`scenario ${scenario.name}: two shared-state pieces are named ${s.name}`);
      this.shared.push(s);
      this.sharedByName.set(s.name, s);
      s.connect?.({ observe: (o) => this.fileObservation(o) });
    }
    if (env.checkFootprints) this.touched = new Set();
    const sharedPiece = <T>(name: string): T => {
      const s = this.sharedByName.get(name);
      if (!s) throw new Error(`scenario ${scenario.name} has no shared state named ${name}`);
      this.touched?.add(name);
      return s as unknown as T;
    };
    this.view = { canTake: (l, m) => this.locks.canTake(l, m), shared: sharedPiece };
    this.ports = { data, shared: sharedPiece, params };
    const variant = scenario.bugs.find((b) => b.name === bug);
    for (const a of spec.actors) {
      const machine = substituted(a.kind, variant);
      this.stepActor = a.id;
      const snap = this.advance({ id: a.id, machine } as Member, null, a.input);
      const k = a.kind;
      const member: Member = {
        id: a.id,
        kind: k,
        machine,
        snap,
        offers: k.offers.bind(k),
        accepts: k.accepts ? k.accepts.bind(k) : null,
        prepare: k.prepare ? k.prepare.bind(k) : null,
      };
      this.members.push(member);
      this.byId.set(a.id, member);
    }
    for (const s of this.shared) {
      this.stepActor = s.name;
      s.announce?.();
    }
    this.pendingObs = this.stepObs;
    this.stepObs = [];
    this.stepSent = [];
    this.locks.drainEvents();
  }

  /**
   * Every step that can run now, in a deterministic order. When nothing can run but a thread
   * executor still has work in flight (free mode), wait for it first.
   */
  enabled(): EnabledStep[] {
    for (;;) {
      const out = this.enabledNow();
      if (out.length > 0 || !this.exec.waitForProgress?.()) return out;
    }
  }

  private enabledNow(): EnabledStep[] {
    const out: EnabledStep[] = [];
    const channels = this.bus.allChannels;
    for (let i = 0; i < channels.length; i++) {
      const ch = channels[i];
      if (ch.queue.length === 0) continue;
      const env = ch.queue[0];
      const m = this.byId.get(env.to);
      if (!m) throw new Error(`message ${env.type} from ${env.from} to unknown actor ${env.to}`);
      if (m.accepts !== null && !m.accepts(m.snap, this.bus.headEvent(ch), this.view)) continue;
      out.push(new DeliverStep(ch, env));
    }
    const members = this.members;
    for (let i = 0; i < members.length; i++) {
      const m = members[i];
      const offers = m.offers(m.snap, this.view);
      for (let j = 0; j < offers.length; j++) {
        const o = offers[j];
        out.push(new OfferStep(m.id, o.event as { type: string; [k: string]: unknown }, o.label));
      }
    }
    const t = this.clock.nextTimer();
    if (t) out.push({ key: `${t.owner}.timer#${t.seq}`, thread: t.owner, type: 'timer', seq: t.seq, owner: t.owner });
    return out;
  }

  /** What an enabled step may touch (declared by its actor kind; see ActorKind.footprint). */
  footprint(step: EnabledStep): StepFootprint {
    if (step.type === 'timer') return { actor: step.owner, locks: [], reads: [], writes: [] };
    const m = this.member(step.thread);
    const event = step.type === 'deliver' ? { type: step.env.type, ...step.env.payload } : step.event;
    const f: Footprint = m.kind.footprint?.(m.snap, event) ?? {};
    return {
      actor: m.id,
      ...(step.type === 'deliver' ? { channel: channelKey(step.env.from, step.env.to) } : {}),
      locks: f.locks ?? [],
      reads: f.reads ?? [],
      writes: f.writes ?? [],
    };
  }

  /** Execute one step and emit its record on `steps$`. */
  execute(step: EnabledStep, index: number): StepRecord {
    this.stepSent = NONE;
    this.stepSeq = 0;
    if (this.pendingObs.length) {
      // Observations carried over (the initial shared state) keep their places at the front.
      this.stepObs = this.pendingObs;
      this.pendingObs = NONE;
      this.stepSeq = this.stepObs.reduce((m, o) => Math.max(m, o.seq + 1), 0);
    } else {
      this.stepObs = NONE;
    }
    const declared = this.touched ? this.footprint(step) : null;
    this.touched?.clear();
    let m: Member;
    let event: { type: string; [k: string]: unknown };
    let recEvent: { type: string; [k: string]: unknown };
    let delivered: Envelope | null = null;
    if (step.type === 'timer') {
      m = this.member(step.owner);
      this.cause = null;
      const t = this.clock.fire(step.seq);
      event = t.event as typeof event;
      recEvent = { type: 'xstate.timer', seq: step.seq };
    } else {
      if (step.type === 'deliver') {
        if (step instanceof DeliverStep) {
          event = this.bus.headEvent(step.ch) as typeof event;
          delivered = this.bus.takeHead(step.ch);
        } else {
          delivered = this.bus.take(step.env.from, step.env.to);
          event = { type: delivered.type, ...delivered.payload };
        }
        m = this.member(delivered.to);
        this.cause = delivered.id;
      } else {
        m = this.member(step.actor);
        event = step.event;
        this.cause = null;
      }
      recEvent = event;
    }
    this.stepActor = m.id;
    const before = valueString(m.snap.value);
    if (step.type !== 'timer' && m.prepare !== null) {
      event = m.prepare(m.snap, event, this.ports, m.id) as typeof event;
      recEvent = event;
    }
    m.snap = this.advance(m, event);
    m.canon = undefined;
    this.clock.tick();
    const rec: StepRecord = {
      i: index,
      t: this.clock.now,
      step: step.key,
      actor: m.id,
      event: recEvent,
      before,
      after: valueString(m.snap.value),
      delivered,
      sent: this.stepSent,
      obs: this.stepObs,
      locks: this.locks.drainEvents(),
    };
    if (declared) checkFootprint(step.key, declared, rec, this.touched!);
    this.steps$.next(rec);
    return rec;
  }

  /**
   * Advance a member's machine by one event (or to its initial snapshot when `event` is null,
   * with `input`); the engine hands the effects to the world (`sink`) in the order they were made.
   * The engine is the seam where another interpreter of the same machine definitions plugs in
   * (core/engine/).
   */
  private advance(m: Pick<Member, 'id' | 'machine'> & { snap?: AnyMachineSnapshot }, event: EventObject | null, input?: unknown): AnyMachineSnapshot {
    return event === null ? this.engine.start(m.machine, m.id, input, this.sink) : this.engine.step(m.machine, m.id, m.snap!, event, this.sink);
  }

  /** Where the engine's effects go: the bus, the lock table, the step's observations, the clock. */
  private readonly sink: EffectSink = {
    effect: (id, type, params) => {
      switch (type) {
        case 'send': {
          const p = params as SendParams;
          if (this.stepSent === NONE) this.stepSent = [];
          this.stepSent.push(this.bus.send(id, p.to, p.type, p.payload, this.cause));
          return;
        }
        case 'lock': {
          const p = params as LockParams;
          this.locks.acquire(p.lock, p.thread ?? id, p.path, p.mode, p.irq, this.stepSeq++);
          return;
        }
        case 'unlock': {
          const p = params as LockParams;
          this.locks.release(p.lock, p.thread ?? id, p.path, this.stepSeq++);
          return;
        }
        case 'observe':
          if (this.stepObs === NONE) this.stepObs = [];
          this.stepObs.push({ ...(params as Observation), actor: id, seq: this.stepSeq++ });
          return;
        default:
          throw new Error(`actor ${id}: action "${type}" is not an effect the world applies (send, lock, unlock, observe, delayed raise, cancel)`);
      }
    },
    delay: (id, timerId, delay, event) => {
      this.clock.set(id, timerId, delay, event);
    },
    cancel: (id, timerId) => {
      this.clock.cancel(id, timerId);
    },
  };

  private fileObservation(o: Observation): void {
    if (this.exec.divert?.(this.stepActor, o)) return;
    if (this.stepObs === NONE) this.stepObs = [];
    this.stepObs.push({ ...o, actor: this.stepActor, seq: this.stepSeq++ });
  }

  quiescence(step: number): QuiescenceView {
    const actors: Record<string, ActorSnapshotView> = {};
    for (const m of this.members) actors[m.id] = { kind: m.kind.kind, value: valueString(m.snap.value), context: m.snap.context };
    return { step, actors, undelivered: this.bus.undelivered(), shared: (name) => this.sharedByName.get(name) };
  }

  /** Context of one actor (for full traces and the inspector). */
  contextOf(id: string): unknown {
    return this.member(id).snap.context;
  }

  /** Value and context of one actor. */
  snapshotOf(id: string): AnyMachineSnapshot {
    return this.member(id).snap;
  }

  /** The shared state's inspector views, by name. */
  sharedViews(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const s of this.shared) if (s.view) out[s.name] = s.view();
    return out;
  }

  snapshot(): WorldSnapshot {
    if (this.pendingObs.length) throw new Error('world snapshot before the first step: take it after a step');
    return {
      members: this.members.map((m) => this.engine.save(m.snap)),
      bus: this.bus.snapshot(),
      locks: this.locks.snapshot(),
      clock: this.clock.snapshot(),
      data: this.data.length,
      shared: this.shared.map((s) => s.snapshot()),
    };
  }

  restore(s: WorldSnapshot): void {
    this.members.forEach((m, i) => {
      m.snap = this.engine.load(s.members[i]);
      m.canon = undefined;
    });
    this.bus.restore(s.bus);
    this.locks.restore(s.locks);
    this.clock.restore(s.clock);
    this.data.truncate(s.data);
    this.shared.forEach((sh, i) => sh.restore(structuredClone(s.shared[i])));
    this.pendingObs = [];
  }

  /**
   * A hash of the state as it decides behaviour: actors (value and context, minus statistics a
   * kind leaves out), messages in flight without ids, lock holders, the order pending timers fire
   * in, and the shared state's canonical form. Equal states reached by different orders of
   * independent steps hash equal.
   */
  hash(): string {
    // The bytes of JSON.stringify([actors, bus, locks, clock, shared]) with actors as [id, canonical]
    // pairs; each actor's part is kept until its snapshot changes (most steps change one actor).
    let actors = '';
    for (const m of this.members) {
      m.canon ??= JSON.stringify([m.id, m.kind.canonical ? m.kind.canonical(m.snap) : [m.snap.value, m.snap.context]]);
      actors += actors ? `,${m.canon}` : m.canon;
    }
    const shared = this.shared.map((s) => [s.name, s.canonical ? s.canonical() : s.snapshot()]);
    const text = `[[${actors}],${JSON.stringify([this.bus.canonical(), this.locks.canonical(), this.clock.canonical(), shared]).slice(1)}`;
    return createHash('sha256').update(text).digest('hex');
  }

  /** Free mode: the run's stamped history (in-flight thread work is stopped first); else null. */
  history(): HistoryEvent[] | null {
    return this.exec.history?.() ?? null;
  }

  stop(): void {
    this.steps$.complete();
    this.exec.close?.();
  }

  private member(id: string): Member {
    const m = this.byId.get(id);
    if (!m) throw new Error(`unknown actor ${id}`);
    return m;
  }
}

export function valueString(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** A kind's machine with a variant's named guards and actions substituted (cached per pair). */
const provided = new WeakMap<AnyStateMachine, Map<string, AnyStateMachine>>();
function substituted(kind: ActorKind, variant: BugVariant | undefined): AnyStateMachine {
  const sub = variant?.provide?.[kind.kind];
  if (!sub) return kind.machine;
  let byVariant = provided.get(kind.machine);
  if (!byVariant) provided.set(kind.machine, (byVariant = new Map()));
  let m = byVariant.get(variant!.name);
  if (!m) byVariant.set(variant!.name, (m = kind.machine.provide(sub as never) as AnyStateMachine));
  return m;
}

/** A step touched a lock or shared state its kind's footprint does not declare: a model error. */
function checkFootprint(key: string, fp: StepFootprint, rec: StepRecord, touched: Set<string>): void {
  for (const l of rec.locks) {
    if (!fp.locks.includes(l.lock)) throw new Error(`step ${key} took ${l.lock}, which its footprint does not declare (declared: ${fp.locks.join(', ') || 'no lock'})`);
  }
  const shared = [...fp.reads, ...fp.writes];
  for (const n of touched) {
    if (!shared.some((s) => s === n || s.startsWith(`${n}:`))) throw new Error(`step ${key} touched shared state ${n}, which its footprint does not declare`);
  }
}
