/**
 * What the compiled machines run on: the frame of one macrostep (the actor's live snapshot, the
 * event, where effects go), xstate's macrostep and microstep for flat machines, and the built-in
 * actions. Contexts are updated in place: an `assign` writes into the live context object, except
 * while that object is still visible to an `enqueueActions` callback whose enqueued actions have not
 * all run (closures made there may read it later, and under xstate they would read the old
 * context): then the first write copies it. Snapshots that must not change are copied by the
 * engine (`save`).
 */
import { type EventObject, assign, cancel, emit, raise } from 'xstate';
import type { EffectSink } from '../engine/engine.ts';
import type { CState, CTransition, CompiledMachine } from './compile.ts';
import type { FastSnapshot } from './snapshot.ts';

export interface Frame {
  cm: CompiledMachine;
  /** The actor's live snapshot. */
  snap: FastSnapshot;
  /** The event being processed (the step's event, or an internal one). */
  event: EventObject;
  actor: string;
  sink: EffectSink;
  /** xstate's internal queue: events raised without a delay, processed in this macrostep. */
  queue: EventObject[] | null;
  /** The snapshot changed in the current microstep (xstate: a new snapshot object). */
  changed: boolean;
  /** The context object an enqueueActions callback still sees (copy before writing to it). */
  exposed: object | null;
}

export type Act = (f: Frame) => void;
export type Guard = (f: Frame) => unknown;

type Args = { context: Record<string, unknown>; event: EventObject };
type Lazy = (a: Args) => unknown;

const noSpawn = () => {
  throw new Error('fast engine: spawn is not supported');
};

function args(f: Frame): Args {
  return { context: f.snap.context, event: f.event };
}

// ---- named effects -------------------------------------------------------------------------

/** A named action that is not a built-in: reported to the world with its params. */
export function effectAction(type: string, params: unknown, lazy: boolean): Act {
  if (lazy) {
    const p = params as Lazy;
    return (f) => f.sink.effect(f.actor, type, p(args(f)));
  }
  return (f) => f.sink.effect(f.actor, type, params);
}

// ---- assign ----------------------------------------------------------------------------------

type Assignment = ((a: unknown, p: unknown) => Record<string, unknown> | undefined) | Record<string, unknown>;

export function assignAction(assignment: Assignment, params: unknown, lazy: boolean): Act {
  if (typeof assignment !== 'function') {
    const keys = Object.keys(assignment);
    const computed = keys.some((k) => typeof assignment[k] === 'function');
    if (!computed && !lazy) {
      // Constant values: write them straight in.
      return (f) => {
        const ctx = writable(f);
        for (let i = 0; i < keys.length; i++) ctx[keys[i]] = assignment[keys[i]];
        f.changed = true;
      };
    }
  }
  if (lazy) {
    const p = params as Lazy;
    return (f) => doAssign(f, assignment, p(args(f)));
  }
  return (f) => doAssign(f, assignment, params);
}

function doAssign(f: Frame, assignment: Assignment, p: unknown): void {
  let partial: Record<string, unknown> | undefined;
  if (typeof assignment === 'function') {
    partial = assignment({ context: f.snap.context, event: f.event, spawn: noSpawn, self: undefined, system: undefined }, p);
  } else if (!hasFunction(assignment)) {
    // Values only (what `enqueue(assign({ ... }))` mostly makes): written as they are.
    partial = assignment;
  } else {
    // Every value is computed from the context before any is written (xstate's semantics).
    const a = { context: f.snap.context, event: f.event, spawn: noSpawn, self: undefined, system: undefined };
    partial = {};
    for (const key of Object.keys(assignment)) {
      const v = assignment[key];
      partial[key] = typeof v === 'function' ? (v as (a: unknown, p: unknown) => unknown)(a, p) : v;
    }
  }
  const ctx = writable(f);
  if (partial) for (const key in partial) ctx[key] = partial[key];
  f.changed = true;
}

function hasFunction(o: Record<string, unknown>): boolean {
  for (const key in o) if (typeof o[key] === 'function') return true;
  return false;
}

/** The live context, copied first if an enqueueActions callback still sees it. */
function writable(f: Frame): Record<string, unknown> {
  let ctx = f.snap.context;
  if (ctx === f.exposed) {
    ctx = { ...ctx };
    f.snap.context = ctx;
  }
  return ctx;
}

// ---- enqueueActions --------------------------------------------------------------------------

type Collect = (a: unknown, p: unknown) => void;

/** Enqueued actions, one list per nesting depth, reused. */
const batches: unknown[][] = [];
let depth = 0;
/** The frame and list the `enqueue`/`check` of the running callback work on. */
let currentFrame: Frame | null = null;
let currentBatch: unknown[] | null = null;

function enqueueFn(action: unknown): void {
  currentBatch!.push(action);
}
// xstate's own action creators make what `enqueue.assign(...)` and the like enqueue.
const enqueue = Object.assign(enqueueFn, {
  assign: (...a: unknown[]) => currentBatch!.push((assign as (...x: unknown[]) => unknown)(...a)),
  raise: (...a: unknown[]) => currentBatch!.push((raise as (...x: unknown[]) => unknown)(...a)),
  cancel: (...a: unknown[]) => currentBatch!.push((cancel as (...x: unknown[]) => unknown)(...a)),
  emit: (...a: unknown[]) => currentBatch!.push((emit as (...x: unknown[]) => unknown)(...a)),
  sendTo: () => unsupportedAtRun('enqueue.sendTo'),
  sendParent: () => unsupportedAtRun('enqueue.sendParent'),
  spawnChild: () => unsupportedAtRun('enqueue.spawnChild'),
  stopChild: () => unsupportedAtRun('enqueue.stopChild'),
});
function check(guard: unknown): unknown {
  return evaluateGuardSpec(currentFrame!, guard);
}

function unsupportedAtRun(what: string): never {
  throw new Error(`fast engine: machine "${currentFrame?.cm.id}" uses ${what}, which the fast engine does not interpret (run it with --engine xstate)`);
}

export function enqueueAction(collect: Collect, params: unknown, lazy: boolean): Act {
  if (lazy) {
    const p = params as Lazy;
    return (f) => doEnqueue(f, collect, p(args(f)));
  }
  return (f) => doEnqueue(f, collect, params);
}

function doEnqueue(f: Frame, collect: Collect, p: unknown): void {
  const batch = (batches[depth] ??= []);
  batch.length = 0;
  depth++;
  const prevFrame = currentFrame;
  const prevBatch = currentBatch;
  const prevExposed = f.exposed;
  const seen = f.snap.context;
  currentFrame = f;
  currentBatch = batch;
  try {
    collect({ context: seen, event: f.event, enqueue, check, self: undefined, system: undefined }, p);
  } finally {
    currentFrame = prevFrame;
    currentBatch = prevBatch;
  }
  // The callback's closures still see `seen`: if one can run after a write, writes must copy it.
  if (!closedAfterWrite(f, batch)) f.exposed = seen;
  for (let i = 0; i < batch.length; i++) runAction(f, batch[i]);
  batch.length = 0;
  f.exposed = prevExposed;
  depth--;
}

/**
 * Whether no closure made by an enqueueActions callback can run after the first action of its
 * batch that may write the context: then the callback's view of the context cannot be told from
 * the live one, and writes need no copy. Items after a write must be plain: a name, an object
 * with constant params, an assign of constant values, or an inline function the world never
 * calls; a computed assign, nested enqueueActions, computed raise or cancel is not.
 */
function closedAfterWrite(f: Frame, batch: unknown[]): boolean {
  let wrote = false;
  for (let i = 0; i < batch.length; i++) {
    const a = batch[i] as Record<string, unknown> & { type?: unknown };
    let writes = false;
    let plain = true;
    if (typeof (a as unknown) === 'function') {
      switch (a.type) {
        case 'xstate.assign':
          writes = true;
          plain = typeof a.assignment !== 'function' && !hasFunction(a.assignment as Record<string, unknown>);
          break;
        case 'xstate.enqueueActions':
          writes = true;
          plain = false;
          break;
        case 'xstate.raise':
          plain = typeof a.event !== 'function' && typeof a.delay !== 'function';
          break;
        case 'xstate.cancel':
          plain = typeof a.sendId !== 'function';
          break;
        default:
          plain = a.resolve === undefined;
      }
    } else {
      const type = typeof a === 'string' ? a : (a.type as string);
      const impl = f.cm.actions[type] as { resolve?: unknown } | undefined;
      // A named built-in (an assign or enqueueActions of the setup) may write; it was made at
      // setup, not in the callback, so it closes over nothing the callback saw.
      if (impl !== undefined && impl.resolve !== undefined) writes = true;
      plain = typeof a === 'string' || typeof a.params !== 'function';
    }
    if (wrote && !plain) return false;
    if (writes) wrote = true;
  }
  return true;
}

/** Forget enqueued lists a throwing step left behind (called at the start of every step). */
export function resetBatches(): void {
  depth = 0;
  currentFrame = null;
  currentBatch = null;
}

// ---- raise, cancel, log, emit ----------------------------------------------------------------

interface RaiseSpec {
  event: EventObject | string | ((a: unknown, p: unknown) => EventObject);
  id?: string;
  delay?: number | string | ((a: unknown, p: unknown) => number);
}

export function raiseAction(r: RaiseSpec, params: unknown, lazy: boolean): Act {
  if (lazy) {
    const p = params as Lazy;
    return (f) => doRaise(f, r, p(args(f)));
  }
  return (f) => doRaise(f, r, params);
}

function doRaise(f: Frame, r: RaiseSpec, p: unknown): void {
  if (typeof r.event === 'string') throw new Error(`Only event objects may be used with raise; use raise({ type: "${r.event}" }) instead`);
  const a = { context: f.snap.context, event: f.event, self: undefined, system: undefined };
  const event = typeof r.event === 'function' ? r.event(a, p) : r.event;
  let delay: unknown;
  if (typeof r.delay === 'string') {
    const d = f.cm.delays[r.delay];
    delay = typeof d === 'function' ? (d as (a: unknown, p: unknown) => unknown)(a, p) : d;
  } else {
    delay = typeof r.delay === 'function' ? r.delay(a, p) : r.delay;
  }
  if (typeof delay !== 'number') (f.queue ??= []).push(event);
  else f.sink.delay(f.actor, r.id ?? event.type, delay, event);
}

type SendId = string | ((a: unknown, p: unknown) => string);

export function cancelAction(sendId: SendId, params: unknown, lazy: boolean): Act {
  if (lazy) {
    const p = params as Lazy;
    return (f) => doCancel(f, sendId, p(args(f)));
  }
  return (f) => doCancel(f, sendId, params);
}

function doCancel(f: Frame, sendId: SendId, p: unknown): void {
  const id = typeof sendId === 'function' ? sendId({ context: f.snap.context, event: f.event, self: undefined, system: undefined }, p) : sendId;
  f.sink.cancel(f.actor, String(id));
}

interface LogSpec {
  value: unknown;
  label?: string;
}

/** xstate reports a log to the executor as `xstate.log`, with its value: so does this engine. */
export function logAction(l: LogSpec, params: unknown, lazy: boolean): Act {
  return (f) => doLog(f, l, lazy ? (params as Lazy)(args(f)) : params);
}

function doLog(f: Frame, l: LogSpec, p: unknown): void {
  const a = { context: f.snap.context, event: f.event, self: undefined, system: undefined };
  f.sink.effect(f.actor, 'xstate.log', { value: typeof l.value === 'function' ? l.value(a, p) : l.value, label: l.label });
}

interface EmitSpec {
  event: unknown;
}

export function emitAction(e: EmitSpec, params: unknown, lazy: boolean): Act {
  return (f) => doEmit(f, e, lazy ? (params as Lazy)(args(f)) : params);
}

function doEmit(f: Frame, e: EmitSpec, p: unknown): void {
  const a = { context: f.snap.context, event: f.event, self: undefined, system: undefined };
  f.sink.effect(f.actor, 'xstate.emit', { event: typeof e.event === 'function' ? e.event(a, p) : e.event });
}

// ---- actions met at run time (enqueued) --------------------------------------------------------

/** One enqueued action, resolved as xstate's resolveAndExecuteActionsWithContext does. */
function runAction(f: Frame, a: unknown): void {
  if (typeof a === 'function') {
    if ((a as { resolve?: unknown }).resolve !== undefined) return runBuiltin(f, a as unknown as Record<string, unknown>, undefined);
    return f.sink.effect(f.actor, (a as { name?: string }).name || '(anonymous)', undefined);
  }
  if (typeof a === 'string') {
    const impl = f.cm.actions[a] as Record<string, unknown> | undefined;
    if (impl !== undefined && impl.resolve !== undefined) return runBuiltin(f, impl, undefined);
    return f.sink.effect(f.actor, a, undefined);
  }
  const o = a as { type: string; params?: unknown };
  let p = o.params;
  if (typeof p === 'function') p = (p as Lazy)(args(f));
  const impl = f.cm.actions[o.type] as Record<string, unknown> | undefined;
  if (impl !== undefined && impl.resolve !== undefined) return runBuiltin(f, impl, p);
  f.sink.effect(f.actor, o.type, p);
}

function runBuiltin(f: Frame, b: Record<string, unknown>, p: unknown): void {
  switch (b.type) {
    case 'xstate.assign':
      return doAssign(f, b.assignment as Assignment, p);
    case 'xstate.enqueueActions':
      return doEnqueue(f, b.collect as Collect, p);
    case 'xstate.raise':
      return doRaise(f, b as unknown as RaiseSpec, p);
    case 'xstate.cancel':
      return doCancel(f, b.sendId as SendId, p);
    case 'xstate.log':
      return doLog(f, b as unknown as LogSpec, p);
    case 'xstate.emit':
      return doEmit(f, b as unknown as EmitSpec, p);
    default:
      return unsupportedAtRun(`the built-in action ${String(b.type)}`);
  }
}

// ---- guards met at run time (check) --------------------------------------------------------------

/** xstate's evaluateGuard over the frame's machine implementations. */
export function evaluateGuardSpec(f: Frame, g: unknown): unknown {
  const a = args(f);
  if (typeof g === 'function') {
    if ('check' in g) return builtinGuard(f, g as unknown as { name: string; guards?: unknown[]; stateValue?: unknown });
    return (g as (a: Args, p: unknown) => unknown)(a, undefined);
  }
  const name = typeof g === 'string' ? g : (g as { type: string }).type;
  const impl = f.cm.guards[name];
  if (!impl) throw new Error(`Guard '${name}' is not implemented.'.`);
  if (typeof impl !== 'function') return evaluateGuardSpec(f, impl);
  if ('check' in impl) return builtinGuard(f, impl as unknown as { name: string; guards?: unknown[]; stateValue?: unknown });
  let p: unknown;
  if (typeof g !== 'string' && 'params' in (g as object)) {
    const gp = (g as { params: unknown }).params;
    p = typeof gp === 'function' ? (gp as Lazy)(a) : gp;
  }
  return (impl as (a: Args, p: unknown) => unknown)(a, p);
}

function builtinGuard(f: Frame, g: { name: string; guards?: unknown[]; stateValue?: unknown }): boolean {
  switch (g.name) {
    case 'and':
      return g.guards!.every((x) => evaluateGuardSpec(f, x));
    case 'or':
      return g.guards!.some((x) => evaluateGuardSpec(f, x));
    case 'not':
      return !evaluateGuardSpec(f, g.guards![0]);
    case 'stateIn': {
      const v = g.stateValue;
      if (typeof v === 'string' && v.startsWith('#')) {
        const node = f.cm.machine.getStateNodeById(v);
        return node === f.cm.machine.root || node.id === f.snap.state.id;
      }
      return f.snap.matches(v as string);
    }
    default:
      return unsupportedAtRun(`the built-in guard ${g.name}`);
  }
}

// ---- macrostep and microstep ---------------------------------------------------------------------

function runAll(list: Act[], f: Frame): void {
  for (let i = 0; i < list.length; i++) list[i](f);
}

/** The first candidate whose guard passes (xstate's StateNode.next, the state's then the root's). */
export function select(f: Frame, list: CTransition[]): CTransition | null {
  for (let i = 0; i < list.length; i++) {
    const t = list[i];
    if (t.guard === null) return t;
    let ok: unknown;
    try {
      ok = t.guard(f);
    } catch (err) {
      throw new Error(`Unable to evaluate guard ${t.guardName ? `'${t.guardName}' ` : ''}in transition for event '${f.event.type}' in state node '${t.source}':\n${(err as Error)?.message}`);
    }
    if (ok) return t;
  }
  return null;
}

/** The first eventless transition whose guard passes (no error wrapping, as in xstate). */
function selectAlways(f: Frame, list: CTransition[]): CTransition | null {
  for (let i = 0; i < list.length; i++) {
    const t = list[i];
    if (t.guard === null || t.guard(f)) return t;
  }
  return null;
}

/**
 * One microstep of a flat machine: exit the current state (if the transition changes state), the
 * transition's actions, enter the target; on entering a final state the machine is done. A
 * microstep that ends with the machine done runs the exit actions of its state and of the root
 * (xstate does so after every microstep of a done machine, even a targetless one). The snapshot's
 * state changes at the end (guards evaluated inside the step see the state it started in, as in
 * xstate).
 */
function microstep(f: Frame, t: CTransition): void {
  const target = t.target;
  const snap = f.snap;
  if (target === null) {
    runAll(t.actions, f);
    if (snap.status === 'done') finish(f, snap.state);
    return;
  }
  const from = snap.state;
  runAll(from.exit, f);
  runAll(t.actions, f);
  runAll(target.entry, f);
  enter(f, from, target);
}

function enter(f: Frame, from: CState, target: CState): void {
  const snap = f.snap;
  if (target.final && snap.status !== 'done') {
    snap.status = 'done';
    f.changed = true;
  }
  if (snap.status === 'done') finish(f, target);
  if (from !== target) {
    snap.state = target;
    snap.value = target.value;
    f.changed = true;
  }
}

/** A done machine's microstep ends with the exit actions of its state, then of the root. */
function finish(f: Frame, state: CState): void {
  runAll(state.exit, f);
  runAll(f.cm.rootExit, f);
}

/** The eventless loop after a microstep: `always` transitions, then internal events, until stable. */
function settle(f: Frame): void {
  const snap = f.snap;
  const max = f.cm.maxIterations;
  let eventless = true;
  let n = 0;
  while (snap.status === 'active') {
    if (++n > max) {
      throw new Error(
        `Infinite loop detected: the machine has processed more than ${max} microsteps without reaching a stable state. This usually happens when there's a cycle of transitions (e.g., eventless transitions or raised events causing state A -> B -> C -> A).`,
      );
    }
    if (eventless) {
      const t = selectAlways(f, snap.state.always);
      if (t !== null) {
        f.changed = false;
        microstep(f, t);
        eventless = f.changed;
        continue;
      }
    }
    const q = f.queue;
    if (q === null || q.length === 0) break;
    f.event = q.shift()!;
    const t = select(f, f.cm.candidates(snap.state, f.event.type));
    if (t !== null) microstep(f, t);
    eventless = true;
  }
}

/** xstate's macrostep for one external event. */
export function macrostep(f: Frame, event: EventObject): void {
  resetBatches();
  f.event = event;
  const t = select(f, f.cm.candidates(f.snap.state, event.type));
  if (t !== null) microstep(f, t);
  settle(f);
}

/** xstate's initial transition: enter the root and the initial state, then settle. */
export function initialMacrostep(f: Frame): void {
  resetBatches();
  const cm = f.cm;
  runAll(cm.rootEntry, f);
  runAll(cm.initial.entry, f);
  // The snapshot starts in the initial state already; only a final one changes anything here.
  if (cm.initial.final) enter(f, cm.initial, cm.initial);
  settle(f);
}
