/**
 * Compiles an xstate v5 machine (its normalised state nodes, `machine.root`, and its
 * implementations, with a variant's `machine.provide` substitutions) into plain functions the fast
 * engine runs: per state, its entry and exit actions and its transitions by event type (the
 * machine's root-level transitions after the state's own, as xstate selects them), its eventless
 * `always` transitions, and, for `after`, the delayed raise and cancel xstate adds to the state's
 * entry and exit.
 *
 * Supported, with xstate's semantics: a root with atomic and final child states, and compound
 * states that only group atomic ones (no actions, transitions or tags of their own; a transition
 * into one enters its initial leaf);
 * `on` (exact types, `*` and `prefix.*` wildcards), `always`, `after` (number, named or computed
 * delays), `entry`/`exit` on the states and the root, `reenter`, targets by key, `.key` or `#id`;
 * guards named, inline, with params, `and`/`or`/`not`/`stateIn`; actions named (effects and
 * built-ins), inline, with params; the built-ins `assign`, `enqueueActions` (with `enqueue`,
 * `enqueue.assign`/`raise`/`cancel`, `check`), `raise` (delayed or not), `cancel`, `log` and
 * `emit` (both reported to the world like xstate's engine reports them). Anything else (compound
 * states with behaviour of their own, stateIn in a machine with compound states, parallel states, history, invoke, spawn, sendTo, onDone, machine output, ...) makes `compile`
 * throw an UnsupportedFeature naming the machine and the feature: the fast engine then runs that
 * machine on xstate (core/fast/engine.ts).
 */
import type { AnyStateMachine, EventObject } from 'xstate';
import type { Act, Frame, Guard } from './runtime.ts';
import { assignAction, cancelAction, effectAction, emitAction, enqueueAction, evaluateGuardSpec, logAction, raiseAction } from './runtime.ts';

/** The machine uses something the fast engine does not interpret. */
export class UnsupportedFeature extends Error {
  constructor(
    readonly machine: string,
    readonly feature: string,
    where?: string,
  ) {
    super(`fast engine: machine "${machine}" uses ${feature}${where ? ` (${where})` : ''}, which the fast engine does not interpret; it runs on xstate`);
    this.name = 'UnsupportedFeature';
  }
}

export interface CTransition {
  guard: Guard | null;
  /** For xstate's message when the guard throws: the guard's name or type, if it has one. */
  guardName: string | undefined;
  actions: Act[];
  /** null: no state change (targetless, or a state targeting itself without `reenter`). */
  target: CState | null;
  /** The definition names a target (xstate's `can` counts such a transition even without actions). */
  hasTarget: boolean;
  /** The id of the state node that declares it (the state, or the root). */
  source: string;
}

export type StateValue = string | { [k: string]: StateValue };

export interface CState {
  /** The leaf's path from the root, dotted ("idle", "map.pin"). */
  key: string;
  /** xstate's state value for it. */
  value: StateValue;
  /** What `matches` accepts: the dotted paths of the leaf and of its groups. */
  matches: ReadonlySet<string>;
  id: string;
  final: boolean;
  entry: Act[];
  exit: Act[];
  /** Eventless transitions: the state's own, then the root's. */
  always: CTransition[];
  tags: readonly string[];
  /** Transitions by event type, the state's candidates then the root's (filled on first use). */
  on: Map<string, CTransition[]>;
}

export interface CompiledMachine {
  machine: AnyStateMachine;
  id: string;
  states: Map<string, CState>;
  initial: CState;
  /** Root entry actions, then the root's initial-transition actions (run at start). */
  rootEntry: Act[];
  rootExit: Act[];
  rootTags: readonly string[];
  /** Builds the initial context from the input (a fresh object the engine may update in place). */
  context: (input: unknown) => Record<string, unknown>;
  maxIterations: number;
  /** The candidates for `type` in `state`, computed once per (state, type). */
  candidates(state: CState, type: string): CTransition[];
  /** The named action implementations (for actions enqueued at run time). */
  actions: Record<string, unknown>;
  guards: Record<string, unknown>;
  delays: Record<string, unknown>;
}

// What xstate's normalised state nodes look like (the parts read here).
interface XNode {
  id: string;
  key: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  parent?: XNode;
  states: Record<string, XNode>;
  entry: unknown[];
  exit: unknown[];
  always?: XTransition[];
  transitions: Map<string, XTransition[]>;
  invoke: unknown[];
  tags: string[];
  output?: unknown;
  config: Record<string, unknown>;
  initial?: { actions: unknown[]; target: XNode[] };
}

interface XTransition {
  guard?: unknown;
  actions: unknown[];
  target?: XNode[];
  reenter: boolean;
  source: XNode;
  eventType: string;
}

export function compileMachine(machine: AnyStateMachine): CompiledMachine {
  const id = machine.id;
  const unsupported = (feature: string, where?: string): never => {
    throw new UnsupportedFeature(id, feature, where);
  };
  const root = machine.root as unknown as XNode;
  const impl = machine.implementations as { actions: Record<string, unknown>; guards: Record<string, unknown>; delays: Record<string, unknown> };
  const cfg = machine.config as Record<string, unknown>;

  // Structure: a root with leaves, directly or inside compound states that only group them.
  if (root.type !== 'compound') unsupported(`a root of type "${root.type}" (only a root with child states)`);
  if (root.invoke.length) unsupported('invoke', 'root');
  if (cfg.output !== undefined) unsupported('machine output');
  if (root.config.onDone) unsupported('onDone', 'root');
  if (root.transitions.has('xstate.route')) unsupported('route transitions');
  // The leaves (atomic and final states), found through compound states that only group them.
  const leaves: { path: string[]; node: XNode }[] = [];
  const collect = (parent: XNode, path: string[]) => {
    for (const [key, s] of Object.entries(parent.states)) {
      const p = [...path, key];
      const where = `state "${p.join('.')}"`;
      if (s.invoke.length) unsupported('invoke', where);
      if (s.config.onDone) unsupported('onDone', where);
      if (s.type === 'compound') {
        // A grouping state: no actions, transitions or tags of its own (then entering, exiting
        // and selecting transitions are those of its leaves, as in xstate).
        if (s.entry.length || s.exit.length || s.transitions.size || (s.always ?? []).length || s.tags.length || (s.initial?.actions ?? []).length)
          unsupported('a compound state with its own actions, transitions or tags', where);
        collect(s, p);
        continue;
      }
      if (s.type !== 'atomic' && s.type !== 'final') unsupported(`a ${s.type} state`, where);
      if (s.type === 'final' && path.length) unsupported('a final state inside a compound state', where);
      if (s.type === 'final' && s.output !== undefined) unsupported('a final state output', where);
      leaves.push({ path: p, node: s });
    }
  };
  collect(root, []);
  const nested = leaves.some((l) => l.path.length > 1);
  /** A compound target's leaf: its initial state, down to a leaf. */
  const leafOf = (node: XNode, where: string): XNode => {
    let n = node;
    while (n.type === 'compound' && n !== root) {
      const next = n.initial?.target?.[0];
      if (!next) unsupported('a compound state without an initial state', where);
      n = next!;
    }
    return n;
  };
  const initialNode = root.initial?.target?.[0] ? leafOf(root.initial.target[0], 'root initial') : undefined;
  if (!initialNode) unsupported('no initial state');

  const ctx = { machine, id, impl, unsupported, nested };
  const states = new Map<string, CState>();
  const byNode = new Map<XNode, CState>();
  for (const { path, node: s } of leaves) {
    const key = path.join('.');
    // xstate's state value: the key at the root, else { parent: { ...: leaf } }.
    let value: StateValue = path[path.length - 1];
    for (let i = path.length - 2; i >= 0; i--) value = { [path[i]]: value };
    const cs: CState = {
      key,
      value,
      matches: new Set(path.map((_, i) => path.slice(0, i + 1).join('.'))),
      id: s.id,
      final: s.type === 'final',
      entry: compileActions(ctx, s.entry, `entry of state "${key}"`),
      exit: compileActions(ctx, s.exit, `exit of state "${key}"`),
      always: [],
      tags: [...s.tags],
      on: new Map(),
    };
    states.set(key, cs);
    byNode.set(s, cs);
  }

  const compileTransition = (t: XTransition, where: string): CTransition => {
    const fromRoot = t.source === root;
    let target: CState | null = null;
    if (t.target && t.target.length) {
      if (t.target.length > 1) unsupported('a transition with several targets', where);
      const node = t.target[0];
      if (node.type === 'compound') {
        // Entering a group from inside it would exit and re-enter the group in xstate.
        for (let n: XNode | undefined = t.source; n; n = n.parent) if (n === node) unsupported(`a transition to "#${node.id}", which contains its source`, where);
      }
      const cs = byNode.get(leafOf(node, where));
      if (!cs) unsupported(`a transition to "#${node.id}", which is not a state of the machine`, where);
      if (fromRoot && t.reenter) unsupported('a root transition with reenter: true', where);
      // A state targeting itself without reenter stays (no exit, no entry); everything else
      // exits the current state and enters the target (from the root: even the same state).
      target = !fromRoot && cs === byNode.get(t.source) && !t.reenter ? null : cs!;
    }
    const g = t.guard;
    return {
      guard: g === undefined ? null : compileGuard(ctx, g, where),
      guardName: typeof g === 'string' ? g : g && typeof g === 'object' ? String((g as { type: unknown }).type) : undefined,
      actions: compileActions(ctx, t.actions, where),
      target,
      hasTarget: t.target !== undefined,
      source: t.source.id,
    };
  };

  // Transitions by event descriptor, per node; the root's apply in every state after the state's own.
  const compiledOn = new Map<XNode, Map<string, CTransition[]>>();
  const onOf = (node: XNode): Map<string, CTransition[]> => {
    let m = compiledOn.get(node);
    if (!m) {
      m = new Map();
      for (const [descriptor, ts] of node.transitions) {
        m.set(
          descriptor,
          ts.map((t) => compileTransition(t, `on "${descriptor}" in ${node === root ? 'the root' : `state "${node.key}"`}`)),
        );
      }
      compiledOn.set(node, m);
    }
    return m;
  };
  onOf(root);
  for (const { node: s } of leaves) onOf(s);
  const rootAlways = (root.always ?? []).map((t) => compileTransition(t, 'always in the root'));
  for (const { path, node: s } of leaves) {
    const key = path.join('.');
    const cs = states.get(key)!;
    cs.always = [...(s.always ?? []).map((t) => compileTransition(t, `always in state "${key}"`)), ...rootAlways];
  }
  const nodeOf = new Map<CState, XNode>([...byNode].map(([n, c]) => [c, n]));

  const candidates = (state: CState, type: string): CTransition[] => {
    let list = state.on.get(type);
    if (!list) {
      list = [...candidatesOf(onOf(nodeOf.get(state)!), type), ...candidatesOf(onOf(root), type)];
      state.on.set(type, list);
    }
    return list;
  };

  const contextCfg = cfg.context;
  const context =
    typeof contextCfg === 'function'
      ? (input: unknown) => Object.assign({}, (contextCfg as (a: unknown) => Record<string, unknown>)({ spawn: noSpawn, input, self: undefined }))
      : (_input: unknown) => ({ ...((contextCfg as Record<string, unknown> | undefined) ?? {}) });

  const options = (cfg.options ?? {}) as { maxIterations?: number };
  return {
    machine,
    id,
    states,
    initial: byNode.get(initialNode!)!,
    rootEntry: [...compileActions(ctx, root.entry, 'root entry'), ...compileActions(ctx, root.initial?.actions ?? [], 'root initial')],
    rootExit: compileActions(ctx, root.exit, 'root exit'),
    rootTags: [...root.tags],
    context,
    maxIterations: options.maxIterations ?? Infinity,
    candidates,
    actions: impl.actions,
    guards: impl.guards,
    delays: impl.delays,
  };
}

/** xstate's getCandidates: the exact descriptor, then matching wildcards, longest first. */
function candidatesOf(on: Map<string, CTransition[]>, type: string): CTransition[] {
  const exact = on.get(type);
  const wild = [...on.keys()]
    .filter((d) => d !== type && matchesEventDescriptor(type, d))
    .sort((a, b) => b.length - a.length)
    .flatMap((d) => on.get(d)!);
  return exact ? [...exact, ...wild] : wild;
}

/** xstate's matchesEventDescriptor: exact, `*`, or a `prefix.*` partial match by tokens. */
export function matchesEventDescriptor(eventType: string, descriptor: string): boolean {
  if (descriptor === eventType || descriptor === '*') return true;
  if (!descriptor.endsWith('.*')) return false;
  const partial = descriptor.split('.');
  const tokens = eventType.split('.');
  for (let i = 0; i < partial.length; i++) {
    if (partial[i] === '*') return i === partial.length - 1;
    if (partial[i] !== tokens[i]) return false;
  }
  return true;
}

const noSpawn = () => {
  throw new Error('fast engine: spawn is not supported');
};

interface CompileCtx {
  machine: AnyStateMachine;
  id: string;
  impl: { actions: Record<string, unknown>; guards: Record<string, unknown>; delays: Record<string, unknown> };
  unsupported(feature: string, where?: string): never;
  /** The machine has leaves inside compound states. */
  nested: boolean;
}

type ParamsSpec = unknown;

/** A list of action specs (as xstate keeps them) compiled to functions, in order. */
function compileActions(c: CompileCtx, list: unknown[], where: string): Act[] {
  return list.map((a) => compileAction(c, a, where));
}

function compileAction(c: CompileCtx, a: unknown, where: string): Act {
  if (typeof a === 'function') {
    if ('resolve' in a) return compileBuiltin(c, a as unknown as Builtin, undefined, false, where);
    // An inline function that is not a built-in: xstate reports it to the executor by its name.
    const type = (a as { name?: string }).name || '(anonymous)';
    return effectAction(type, undefined, false);
  }
  if (typeof a === 'string') {
    const impl = c.impl.actions[a];
    if (typeof impl === 'function' && 'resolve' in impl) return compileBuiltin(c, impl as unknown as Builtin, undefined, false, where);
    return effectAction(a, undefined, false);
  }
  if (a && typeof a === 'object' && typeof (a as { type?: unknown }).type === 'string') {
    const { type } = a as { type: string };
    const hasParams = 'params' in a;
    const params = (a as { params?: unknown }).params;
    const lazy = hasParams && typeof params === 'function';
    const impl = c.impl.actions[type];
    if (typeof impl === 'function' && 'resolve' in impl) return compileBuiltin(c, impl as unknown as Builtin, hasParams ? params : undefined, lazy, where);
    return effectAction(type, hasParams ? params : undefined, lazy);
  }
  return c.unsupported(`an action of the form ${JSON.stringify(a)}`, where);
}

export interface Builtin {
  type: string;
  resolve: unknown;
  [k: string]: unknown;
}

/** xstate's built-in actions, by type; those the fast engine does not interpret are refused. */
function compileBuiltin(c: CompileCtx, b: Builtin, params: ParamsSpec, lazy: boolean, where: string): Act {
  switch (b.type) {
    case 'xstate.assign':
      return assignAction(b.assignment as never, params, lazy);
    case 'xstate.enqueueActions':
      return enqueueAction(b.collect as never, params, lazy);
    case 'xstate.raise':
      return raiseAction(b as never, params, lazy);
    case 'xstate.cancel':
      return cancelAction(b.sendId as never, params, lazy);
    case 'xstate.log':
      return logAction(b as never, params, lazy);
    case 'xstate.emit':
      return emitAction(b as never, params, lazy);
    default:
      return c.unsupported(`the built-in action ${b.type}`, where);
  }
}

/** A guard spec compiled to a function of the frame (its context and event). */
export function compileGuard(c: CompileCtx, g: unknown, where: string): Guard {
  if (typeof g === 'function') {
    if ('check' in g) return compileBuiltinGuard(c, g as BuiltinGuard, where);
    const fn = g as (args: { context: unknown; event: EventObject }, params: unknown) => boolean;
    return (f: Frame) => fn({ context: f.snap.context, event: f.event }, undefined);
  }
  if (typeof g === 'string') {
    const impl = c.impl.guards[g];
    if (!impl) return () => notImplemented(g);
    if (typeof impl !== 'function') return compileGuard(c, impl, where);
    if ('check' in impl) return compileBuiltinGuard(c, impl as BuiltinGuard, where);
    const fn = impl as (args: { context: unknown; event: EventObject }, params: unknown) => boolean;
    return (f: Frame) => fn({ context: f.snap.context, event: f.event }, undefined);
  }
  if (g && typeof g === 'object' && typeof (g as { type?: unknown }).type === 'string') {
    const { type } = g as { type: string };
    const impl = c.impl.guards[type];
    if (!impl) return () => notImplemented(type);
    if (typeof impl !== 'function') return compileGuard(c, impl, where);
    if ('check' in impl) return compileBuiltinGuard(c, impl as BuiltinGuard, where);
    const fn = impl as (args: { context: unknown; event: EventObject }, params: unknown) => boolean;
    const params = (g as { params?: unknown }).params;
    if (typeof params === 'function') {
      const p = params as (a: { context: unknown; event: EventObject }) => unknown;
      return (f: Frame) => {
        const args = { context: f.snap.context, event: f.event };
        return fn(args, p(args));
      };
    }
    return (f: Frame) => fn({ context: f.snap.context, event: f.event }, params);
  }
  return c.unsupported(`a guard of the form ${JSON.stringify(g)}`, where);
}

interface BuiltinGuard {
  name: string;
  check: unknown;
  guards?: unknown[];
  stateValue?: unknown;
}

function compileBuiltinGuard(c: CompileCtx, g: BuiltinGuard, where: string): Guard {
  switch (g.name) {
    case 'and': {
      const parts = g.guards!.map((x) => compileGuard(c, x, where));
      return (f) => parts.every((p) => p(f));
    }
    case 'or': {
      const parts = g.guards!.map((x) => compileGuard(c, x, where));
      return (f) => parts.some((p) => p(f));
    }
    case 'not': {
      const inner = compileGuard(c, g.guards![0], where);
      return (f) => !inner(f);
    }
    case 'stateIn': {
      const v = g.stateValue;
      if (typeof v !== 'string' || (!v.startsWith('#') && v.includes('.')) || c.nested) return c.unsupported(`stateIn(${JSON.stringify(v)})`, where);
      if (v.startsWith('#')) {
        // Resolved when evaluated, as xstate does (an unknown id throws then, not here).
        const machine = c.machine;
        return (f) => {
          const node = machine.getStateNodeById(v);
          // The root is always active; a child state when it is the current one.
          return node === machine.root || f.snap.state.id === node.id;
        };
      }
      return (f) => f.snap.value === v;
    }
    default:
      return c.unsupported(`the built-in guard ${g.name}`, where);
  }
}

function notImplemented(name: string): never {
  throw new Error(`Guard '${name}' is not implemented.'.`);
}

/** A guard spec met at run time (enqueueActions' `check`): resolved like xstate's evaluateGuard. */
export { evaluateGuardSpec };
