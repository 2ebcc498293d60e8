/**
 * The shape every `dirty` actor shares: a kernel (or userspace, or hardware) thread of control that
 * runs a path over shared structures one step at a time.
 *
 * - The thread's own state (its place in its workload, the cursor of the path it is in, an
 *   iova_bitmap, a split's work stack) is the machine's context.
 * - `next` in the context is the one step the thread can take now, with the locks it needs and
 *   the shared state it may touch: `offers` offers it when every lock can be taken (and its gate,
 *   if any, is open); `footprint` declares it.
 * - A step's shared-state work happens in `prepare`, through the path functions in ../paths/, which
 *   read and write the shared pieces and record the effects in order (lock, observe, unlock, send).
 *   The event then carries the context change and those effects; the machine's transition assigns
 *   the one and enqueues the others as the four named effect actions. So the transition is pure
 *   and every effect is applied by the world.
 * - The kernel behaviours a variant substitutes are named boolean guards of the machine (fixed
 *   model = their default). Paths read them through `StepCtx.beh`, evaluated with core's
 *   `guard(snap, name)`, so a variant's `provide` reaches prepare-side code without a bug-name test.
 */
import { type AnyStateMachine, type EventObject, assign, enqueueActions, setup } from 'xstate';
import { type LockParams, type Observation, type SendParams, effectActions } from '../../../core/model/effects.ts';
import { type ActorKind, type Ports, type WorldView, defineKind, guard } from '../../../core/model/kind.ts';
import type { LockMode } from '../../../core/model/locks.ts';
import type { Params } from '../../../core/model/scenario.ts';
import { type DirtyCfg, IOPT, PT, TLB, UBUF } from '../types.ts';
import type { IoptState, PgTableState, SmmuTlbState, UbufState } from '../state/index.ts';
import type { DirtyObsMap } from '../observations.ts';

export type Fx =
  | { type: 'lock'; params: LockParams }
  | { type: 'unlock'; params: LockParams }
  | { type: 'observe'; params: Observation }
  | { type: 'send'; params: SendParams };

/** What a thread does next: one offered step. */
export interface NextStep {
  type: string;
  label?: string;
  /** Locks the step takes (it is offered only when all can be taken now). */
  locks: [string, LockMode][];
  /** Locks the step only releases (footprint). */
  drops?: string[];
  reads: string[];
  writes: string[];
  /** A condition on shared state the step waits for (read in offers). */
  gate?: 'tracking' | 'quiesce';
}

/** A message the thread waits for (a delivery), with what handling it touches. */
export interface Waits {
  type: string;
  reads: string[];
  writes: string[];
}

export interface ThreadLocal {
  id: string;
  phase: string;
  next: NextStep | null;
  waits: Waits | null;
}

export type Behaviour = Record<string, boolean>;

/** Everything a path function reaches during one step. Effects are recorded in order in `fx`. */
export class StepCtx {
  readonly fx: Fx[] = [];
  constructor(
    readonly ports: Ports,
    readonly self: string,
    readonly beh: Behaviour,
    readonly cfg: DirtyCfg,
  ) {}

  pt(): PgTableState {
    return this.ports.shared<PgTableState>(PT);
  }
  tlb(): SmmuTlbState {
    return this.ports.shared<SmmuTlbState>(TLB);
  }
  iopt(): IoptState {
    return this.ports.shared<IoptState>(IOPT);
  }
  ubuf(): UbufState {
    return this.ports.shared<UbufState>(UBUF);
  }

  lock(lock: string, mode: LockMode, path: string, thread?: string): void {
    this.fx.push({ type: 'lock', params: { lock, path, mode, ...(thread ? { thread } : {}) } });
  }

  unlock(lock: string, path: string, thread?: string): void {
    this.fx.push({ type: 'unlock', params: { lock, path, ...(thread ? { thread } : {}) } });
  }

  obs<K extends keyof DirtyObsMap & string>(what: K, fields: DirtyObsMap[K]): void {
    this.fx.push({ type: 'observe', params: { what, ...(fields as object) } });
  }

  send(to: string, type: string, payload: Record<string, unknown>): void {
    this.fx.push({ type: 'send', params: { to, type, payload } });
  }

  /** An injected fault (allocation failure, GUP failure) drawn under a labelled site. */
  fault(site: string): boolean {
    return this.ports.data.fault(`${site}:${this.self}`, this.cfg.faultRate);
  }
}

/** The parameters as the threads use them (one object per params object). */
const cfgCache = new WeakMap<Params, DirtyCfg>();
export function cfgOf(p: Params): DirtyCfg {
  let c = cfgCache.get(p);
  if (!c) {
    const split = String(p.split) as DirtyCfg['split'];
    c = {
      levels: Number(p.levels),
      fanout: Number(p.fanout),
      hugePages: Boolean(p.hugePages),
      split,
      bbml: Number(p.bbml),
      flush: String(p.flush) as DirtyCfg['flush'],
      splitWhen: String(p.splitWhen) as DirtyCfg['splitWhen'],
      splitLock: String(p.splitLock) as DirtyCfg['splitLock'],
      splitGuard: String(p.splitGuard) as DirtyCfg['splitGuard'],
      bitmap: String(p.bitmap) as DirtyCfg['bitmap'],
      bmPageBytes: Number(p.bmPageBytes),
      chunkPages: Number(p.chunkPages),
      tlbCachesDirty: Boolean(p.tlbCachesDirty),
      tableIgnoredBits: String(p.tableIgnoredBits) as DirtyCfg['tableIgnoredBits'],
      faultRate: Number(p.faultRate),
      getRetries: Number(p.getRetries),
      vfio: split !== 'none' && String(p.splitLock) === 'vfio',
    };
    cfgCache.set(p, c);
  }
  return c;
}

export interface ThreadEvent extends EventObject {
  to: string;
  patch: Record<string, unknown>;
  fx: Fx[];
}

export interface ThreadSpec<L extends ThreadLocal> {
  kind: string;
  /** state -> event type -> the states that event can lead to. */
  chart: Record<string, { description?: string; on: Record<string, string[]> }>;
  /** The named behaviours with the fixed model's values. */
  behaviours: Behaviour;
  /** Run one step: change `local` (a copy) and record effects in `c`. */
  step(local: L, event: EventObject, c: StepCtx): void;
  /** The machine state a thread in this local state is in. */
  stateOf(local: L): string;
  /** Context fields no step changes (the workload, names): not copied, not in events. */
  constants: (keyof L & string)[];
  /** Counters that only name things (ioctl ids, TLB fill numbers): left out of the world hash. */
  statistics?: (keyof L & string)[];
}

/** The behaviours of a snapshot's machine (a variant's substitutions included). */
export function behaviourOf(snap: { machine: AnyStateMachine; context: unknown }, names: string[]): Behaviour {
  const out: Behaviour = {};
  for (const n of names) out[n] = guard(snap, n);
  return out;
}

function gateOpen(gate: NextStep['gate'], view: WorldView): boolean {
  if (!gate) return true;
  const d = view.shared<IoptState>(IOPT).d;
  return gate === 'tracking' ? d.tracking : d.devDone && d.hotplugDone;
}

/** A deep copy of plain data (the thread's own state: numbers, strings, arrays, records). */
function copy<T>(x: T): T {
  if (x === null || typeof x !== 'object') return x;
  if (Array.isArray(x)) return x.map(copy) as T;
  const out: Record<string, unknown> = {};
  for (const k in x) out[k] = copy((x as Record<string, unknown>)[k]);
  return out as T;
}

export function threadKind<L extends ThreadLocal>(spec: ThreadSpec<L>): ActorKind {
  const names = Object.keys(spec.behaviours);
  const constant = new Set<string>(spec.constants);
  const behaviourGuards = Object.fromEntries(names.map((n) => [n, () => spec.behaviours[n]]));
  const states: Record<string, unknown> = {};
  for (const [s, def] of Object.entries(spec.chart)) {
    const on: Record<string, unknown> = {};
    for (const [evt, targets] of Object.entries(def.on)) {
      on[evt] = targets.map((t) => ({ guard: { type: 'to', params: { state: t } }, target: t, actions: 'apply' }));
    }
    states[s] = { ...(def.description ? { description: def.description } : {}), on };
  }
  // The thread starts in the state its first operation belongs to.
  states.start = { description: 'the state of the first operation', always: Object.keys(spec.chart).map((t) => ({ guard: { type: 'at', params: { state: t } }, target: t })) };
  const machine = setup({
    types: { context: {} as Record<string, unknown>, events: {} as ThreadEvent, input: {} as Record<string, unknown> },
    actions: {
      ...effectActions,
      /** Assign the step's context change and enqueue its effects in the order the path made them. */
      apply: enqueueActions(({ event, enqueue }) => {
        const e = event as ThreadEvent;
        if (Object.keys(e.patch).length) enqueue(assign(e.patch as never));
        for (const f of e.fx) enqueue(f as never);
      }),
    },
    guards: {
      ...behaviourGuards,
      /** The step leads to this state (the path decided where the thread goes). */
      to: ({ event }, params: { state: string }) => (event as ThreadEvent).to === params.state,
      /** The thread's context says it is in this state (the start). */
      at: ({ context }, params: { state: string }) => spec.stateOf(context as unknown as L) === params.state,
    },
  }).createMachine({
    id: spec.kind,
    context: ({ input }) => input,
    initial: 'start',
    states: states as never,
  });

  return defineKind({
    kind: spec.kind,
    machine: machine as unknown as AnyStateMachine,
    offers(snap, view) {
      const n = (snap.context as unknown as L).next;
      if (!n) return [];
      for (const [l, m] of n.locks) if (!view.canTake(l, m)) return [];
      if (!gateOpen(n.gate, view)) return [];
      return [{ event: { type: n.type }, ...(n.label ? { label: n.label } : {}) }];
    },
    accepts(snap, event) {
      return (snap.context as unknown as L).waits?.type === event.type;
    },
    prepare(snap, event, ports, self) {
      const before = snap.context as unknown as Record<string, unknown>;
      const local: Record<string, unknown> = {};
      const patch: Record<string, unknown> = {};
      for (const k of Object.keys(before)) local[k] = constant.has(k) ? before[k] : copy(before[k]);
      const c = new StepCtx(ports, self, behaviourOf(snap as never, names), cfgOf(ports.params));
      spec.step(local as unknown as L, event, c);
      // The step's context: every field that may change (the constants stay as they are).
      for (const k of Object.keys(local)) if (!constant.has(k)) patch[k] = local[k];
      return { ...event, to: spec.stateOf(local as unknown as L), patch, fx: c.fx };
    },
    canonical(snap) {
      const c = { ...(snap.context as Record<string, unknown>) };
      for (const k of spec.statistics ?? []) delete c[k];
      return [snap.value, c];
    },
    footprint(snap, event) {
      const l = snap.context as unknown as L;
      const n = l.next && l.next.type === event.type ? l.next : null;
      const w = l.waits && l.waits.type === event.type ? l.waits : null;
      const fp = n ?? w;
      if (!fp) return {};
      const gateReads = n?.gate ? [IOPT] : [];
      return { locks: [...(n?.locks.map(([x]) => x) ?? []), ...(n?.drops ?? [])], reads: [...fp.reads, ...gateReads], writes: fp.writes };
    },
  });
}

/** The phase's first segment: 'get.visit' -> 'get'. */
export function stateOfPhase(l: ThreadLocal): string {
  return l.phase.split('.')[0];
}
