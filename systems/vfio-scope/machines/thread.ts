/**
 * A kernel thread of control as a machine: its states are the points of a kernel path where the
 * thread can be preempted (each STEP is one scheduler step), its context holds the locks it
 * holds across steps (`held`), its script position and the path's local variables.
 *
 * A step may take ONE lock at its start (offered only when `view.canTake` says it can be taken:
 * the blocking point before it is the scheduling point) and drop locks at its end. The step's
 * shared-state work runs in `prepare` (the kernel path functions in ../paths.ts); its result
 * (`StepResult`: the next state, context changes, locks dropped) travels in the event, so the
 * transition is pure: it takes and drops the locks with the named `lock`/`unlock` effects and
 * assigns the context. A step whose result names a state it has no transition to is a model
 * error (prepare throws).
 *
 * Every release of iommu->lock files an `iommu-unlock` observation with the state the monitors
 * judge there.
 */
import { type AnyStateMachine, type SnapshotFrom, enqueueActions, setup } from 'xstate';
import { type Observation, effectActions } from '../../../core/model/effects.ts';
import { type ActorKind, type Footprint, type Ports, type WorldView, defineKind } from '../../../core/model/kind.ts';
import type { Kernel, Rates } from '../paths.ts';
import { obs, unlockSummary } from '../paths.ts';
import type { CoreState } from '../state/core.ts';
import type { PinState } from '../state/pins.ts';
import type { Type1State } from '../state/type1.ts';
import { CORE, IOMMU_LOCK, PINS, TYPE1 } from '../types.ts';

export interface StepResult {
  next: string;
  /** Context fields the step changes. */
  set?: Record<string, unknown>;
  /** Locks dropped at the end of the step (the lock taken at its start may be among them). */
  release?: string[];
  /** The kernel function the step runs (lock events and the trace name it). */
  path: string;
  /** Observations about the thread itself (not the shared state), made by the transition. */
  observe?: Observation[];
}

export interface StepEvent {
  type: 'STEP';
  r?: StepResult & { acquire: string | null };
}

export interface ThreadContext {
  id: string;
  /** Locks held across steps, in the order taken. */
  held: string[];
  /** Position in the op script. */
  pc: number;
  ops: unknown[];
}

type Guard<C> = (a: { context: C }) => boolean;

/** Each thread machine's states and where their STEP may go, by machine id (checked in prepare). */
const TRANSITIONS = new Map<string, Record<string, string[]>>();

/**
 * The machine of a thread kind: `states` maps each state to the states its STEP can go to
 * ('idle' is initial; it moves to the final 'done' by itself once the script is over).
 */
export function threadMachine<C extends ThreadContext, I>(cfg: { id: string; states: Record<string, string[]>; context: (input: I) => C; guards: Record<string, Guard<C>> }) {
  TRANSITIONS.set(cfg.id, cfg.states);
  const states: Record<string, object> = {};
  for (const [name, targets] of Object.entries(cfg.states)) {
    const on = { STEP: targets.map((t) => ({ guard: { type: 'nextIs', params: { to: t } }, target: t, actions: 'step' })) };
    states[name] = name === 'idle' ? { always: { guard: 'scriptDone', target: 'done' }, on } : { on };
  }
  states.done = { type: 'final' };
  return setup({
    types: { context: {} as C, events: {} as StepEvent, input: {} as I },
    actions: {
      ...effectActions,
      step: enqueueActions(({ context, event, enqueue }) => {
        const r = (event as StepEvent).r!;
        let held = context.held;
        if (r.acquire) {
          enqueue({ type: 'lock', params: { lock: r.acquire, path: r.path } });
          held = [...held, r.acquire];
        }
        for (const o of r.observe ?? []) enqueue({ type: 'observe', params: o });
        for (const l of r.release ?? []) {
          if (!held.includes(l)) throw new Error(`${context.id}: ${r.path} releases ${l}, which it does not hold`);
          enqueue({ type: 'unlock', params: { lock: l, path: r.path } });
          held = held.filter((x) => x !== l);
        }
        enqueue.assign({ ...(r.set ?? {}), held } as never);
      }),
    },
    guards: {
      ...(cfg.guards as Record<string, Guard<C>>),
      nextIs: ({ event }: { event: StepEvent }, params: { to: string }) => event.r?.next === params.to,
      scriptDone: ({ context }: { context: C }) => context.pc >= context.ops.length,
    } as never,
  }).createMachine({
    id: cfg.id,
    context: ({ input }: { input: I }) => cfg.context(input),
    initial: 'idle',
    states: states as never,
  } as never) as unknown as AnyStateMachine;
}

/** The part of a snapshot a thread kind reads. */
export interface ThreadSnap<C> {
  value: unknown;
  context: C;
  machine: AnyStateMachine;
}

/** The kernel view a step works with; the pieces are fetched on first use (footprints). */
export function kernelOf(ports: Ports, who: string): Kernel {
  const p = ports.params;
  const rates: Rates = { gupFail: Number(p.gupFail), enomem: Number(p.enomem), allocFail: Number(p.allocFail), userFault: Number(p.userFault) };
  let t: Type1State | undefined;
  let core: CoreState | undefined;
  let pins: PinState | undefined;
  return {
    observe(o) {
      const via = t ?? core ?? pins;
      if (!via) throw new Error(`${who}: observation ${o.what} made before the step touched any shared state; make it a thread-local observation of the step result`);
      via.observe(o);
    },
    get t() {
      return (t ??= ports.shared<Type1State>(TYPE1));
    },
    get core() {
      return (core ??= ports.shared<CoreState>(CORE));
    },
    get pins() {
      return (pins ??= ports.shared<PinState>(PINS));
    },
    data: ports.data,
    rates,
    who,
    sharing: p.domainSharing === 'per-group' ? 'per-group' : 'shared',
    pageSize: Number(p.pageSize),
  };
}

/** What every step touching the container under iommu->lock may read or write. */
export const LOCKED_FOOTPRINT = { reads: [TYPE1, PINS, CORE], writes: [TYPE1, PINS, CORE] };

export interface ThreadKindConfig<C extends ThreadContext> {
  kind: string;
  machine: AnyStateMachine;
  /** The lock the next step takes at its start (null: none). Pure: offers and prepare agree. */
  acquireOf(snap: ThreadSnap<C>): string | null;
  /** Besides its lock, is the next step enabled? (e.g. a detach waits until no device is open) */
  enabled?(snap: ThreadSnap<C>, view: WorldView): boolean;
  label(snap: ThreadSnap<C>): string;
  /** The step's kernel work, in prepare. */
  step(snap: ThreadSnap<C>, k: Kernel, acquire: string | null): StepResult;
  /** Shared state the next step may read or write besides the container under iommu->lock. */
  touches(snap: ThreadSnap<C>): { reads?: string[]; writes?: string[] };
}

export function threadKind<C extends ThreadContext>(cfg: ThreadKindConfig<C>): ActorKind {
  const snapOf = (s: unknown) => s as ThreadSnap<C>;
  return defineKind({
    kind: cfg.kind,
    machine: cfg.machine,
    offers(s: SnapshotFrom<AnyStateMachine>, view: WorldView) {
      const snap = snapOf(s);
      if (snap.value === 'done') return [];
      const acq = cfg.acquireOf(snap);
      if (acq && !view.canTake(acq)) return [];
      if (cfg.enabled && !cfg.enabled(snap, view)) return [];
      return [{ event: { type: 'STEP' }, label: cfg.label(snap) }];
    },
    prepare(s, _event, ports: Ports, self: string) {
      const snap = snapOf(s);
      const acquire = cfg.acquireOf(snap);
      const k = kernelOf(ports, self);
      const r = cfg.step(snap, k, acquire);
      const from = String(snap.value);
      if (!TRANSITIONS.get(cfg.machine.id)?.[from]?.includes(r.next)) throw new Error(`${self}: ${r.path} goes from ${from} to ${r.next}, which the machine has no transition for`);
      if ((r.release ?? []).includes(IOMMU_LOCK)) obs(k, 'iommu-unlock', unlockSummary(k, r.path));
      return { type: 'STEP', r: { ...r, acquire } };
    },
    footprint(s): Footprint {
      const snap = snapOf(s);
      const acq = cfg.acquireOf(snap);
      const locks = acq ? [acq, ...snap.context.held] : snap.context.held;
      const iommu = acq === IOMMU_LOCK || snap.context.held.includes(IOMMU_LOCK);
      const extra = cfg.touches(snap);
      return {
        locks,
        reads: [...(iommu ? LOCKED_FOOTPRINT.reads : []), ...(extra.reads ?? [])],
        writes: [...(iommu ? LOCKED_FOOTPRINT.writes : []), ...(extra.writes ?? [])],
      };
    },
  });
}

/** The end of an op: back to idle, next op, every lock dropped. */
export function endOp<C extends ThreadContext>(c: C, acquire: string | null, path: string, set: Record<string, unknown> = {}): StepResult {
  return { next: 'idle', set: { pc: c.pc + 1, ...set }, release: held(c, acquire), path };
}

/** The locks held once this step's lock is taken. */
export function held(c: ThreadContext, acquire: string | null): string[] {
  return acquire ? [...c.held, acquire] : [...c.held];
}
