/**
 * A statechart read from an XState v5 machine definition: its StateNode tree (`machine.root`,
 * `.states`, `.initial`, `.type`), the transitions of each node (`.transitions` for events,
 * `.always` for eventless ones, `.after` for delayed ones) with guard names, targets and
 * action names. Every exporter (DOT, Mermaid, JSON) and the inspector work from this model,
 * so charts are never written by hand.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';

export type StateKind = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

export interface ChartTransition {
  /** `event`: `on` an event type; `always`: eventless; `after`: a delay on the virtual clock. */
  kind: 'event' | 'always' | 'after';
  /** The event type (for `after`, xstate's internal `xstate.after.*` type). */
  event: string;
  /** The delay (a number of virtual ms or a named delay), for `after`. */
  delay: string | null;
  guard: string | null;
  /** Dotted paths of the target states; empty for a targetless (internal) transition. */
  targets: string[];
  actions: string[];
  reenter: boolean;
}

export interface ChartState {
  key: string;
  /** Dotted path from the machine's root; '' for the root. */
  path: string;
  type: StateKind;
  /** Path of the initial child of a compound state. */
  initial: string | null;
  description: string | null;
  children: ChartState[];
  transitions: ChartTransition[];
}

export interface MachineChart {
  /** The machine's id (`createMachine({ id })`). */
  id: string;
  root: ChartState;
}

export function machineChart(machine: AnyStateMachine): MachineChart {
  return { id: machine.id, root: stateOf(machine.root) };
}

/** Every state of a chart, depth first, the root first. */
export function allStates(s: ChartState): ChartState[] {
  return [s, ...s.children.flatMap(allStates)];
}

/** A transition's label as drawn on an edge: `EVENT [guard]`, `always [guard]`, `after 100`. */
export function transitionLabel(t: ChartTransition): string {
  const head = t.kind === 'event' ? t.event : t.kind === 'always' ? 'always' : `after ${t.delay}`;
  return t.guard ? `${head} [${t.guard}]` : head;
}

function stateOf(node: AnyStateNode): ChartState {
  const children = Object.values(node.states as Record<string, AnyStateNode>).map(stateOf);
  const initialTarget = node.type === 'compound' ? node.initial?.target?.[0] : undefined;
  return {
    key: node.key,
    path: pathOf(node),
    type: node.type,
    initial: initialTarget ? pathOf(initialTarget) : null,
    description: node.description ?? null,
    children,
    transitions: transitionsOf(node),
  };
}

function transitionsOf(node: AnyStateNode): ChartTransition[] {
  const out: ChartTransition[] = [];
  const delayed = new Map(node.after.map((t) => [t.eventType, t]));
  for (const [event, list] of node.transitions) {
    const after = delayed.get(event);
    for (const t of list) {
      out.push(transitionOf(t, after ? 'after' : 'event', event, after ? String(after.delay) : null));
    }
  }
  for (const t of node.always ?? []) out.push(transitionOf(t, 'always', '', null));
  return out;
}

type AnyTransition = AnyStateNode['always'] extends (infer T)[] | undefined ? T : never;

function transitionOf(t: AnyTransition, kind: ChartTransition['kind'], event: string, delay: string | null): ChartTransition {
  return {
    kind,
    event,
    delay,
    guard: t.guard === undefined ? null : guardName(t.guard),
    targets: (t.target ?? []).map(pathOf),
    actions: t.actions.map(actionName),
    reenter: t.reenter,
  };
}

function pathOf(node: AnyStateNode): string {
  return node.path.join('.');
}

/** A named guard by its name; `{type, params}` by its type; an inline predicate by its body. */
function guardName(g: unknown): string {
  if (typeof g === 'string') return g;
  if (typeof g === 'function') return inlineName(g);
  if (g && typeof g === 'object' && 'type' in g) return String((g as { type: unknown }).type);
  return 'guard';
}

function actionName(a: unknown): string {
  if (typeof a === 'string') return a;
  if (typeof a === 'function') {
    // xstate's built-ins (assign, enqueueActions, ...) carry their type on the function.
    const type = (a as { type?: unknown }).type;
    return typeof type === 'string' ? type : a.name || 'inline';
  }
  if (a && typeof a === 'object' && 'type' in a) return String((a as { type: unknown }).type);
  return 'action';
}

/**
 * Inline predicates have no name: show their body, compacted so that the label does not depend
 * on how the TypeScript was transpiled (whitespace around punctuation dropped), and shortened.
 */
function inlineName(fn: Function): string {
  if (fn.name && fn.name !== 'guard') return fn.name;
  const src = Function.prototype.toString.call(fn);
  const arrow = src.indexOf('=>');
  let body = arrow >= 0 ? src.slice(arrow + 2) : src;
  body = body.replace(/\s+/g, ' ').replace(/\s*([^\w\s$])\s*/g, '$1').trim();
  body = body.replace(/^\{return (.*?);?\}$/, '$1');
  return body.length > 48 ? `${body.slice(0, 47)}…` : body;
}
