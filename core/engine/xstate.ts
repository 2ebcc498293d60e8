/**
 * The xstate engine: machines advance by xstate's own pure transition function
 * (`machine.transition(snapshot, event, scope)`), which returns the next snapshot and runs no
 * effect: the effects it reports to the scope's action executor are collected and handed to the
 * world in order once the transition has returned. Snapshots are immutable.
 */
import { type AnyActorScope, type AnyMachineSnapshot, type AnyStateMachine, type EventObject, createActor } from 'xstate';
import type { ActorEngine, EffectSink } from './engine.ts';

/** An effect as a transition reports it. */
interface ActionObject {
  type: string;
  params?: unknown;
}

export const xstateEngine: ActorEngine = {
  name: 'xstate',
  start(machine, actor, input, sink) {
    return run(machine, actor, sink, (scope) => machine.getInitialSnapshot(scope, input));
  },
  step(machine, actor, snap, event, sink) {
    return run(machine, actor, sink, (scope) => machine.transition(snap, event, scope));
  },
  save: (snap) => snap,
  load: (saved) => saved,
};

function run(machine: AnyStateMachine, actor: string, sink: EffectSink, transition: (scope: AnyActorScope) => AnyMachineSnapshot): AnyMachineSnapshot {
  const scope = scopeOf(machine);
  const actions: ActionObject[] = [];
  scope.actionExecutor = (a: ActionObject) => {
    actions.push(a);
  };
  let next: AnyMachineSnapshot;
  try {
    next = transition(scope);
  } finally {
    scope.actionExecutor = noExecutor;
  }
  if (next.status === 'error') throw next.error instanceof Error ? next.error : new Error(`${actor}: ${String(next.error)}`);
  for (const a of actions) applyAction(actor, a, sink);
  return next;
}

/** Hand one reported action to the sink: built-in delayed raises and cancels, or a named effect. */
function applyAction(actor: string, a: ActionObject, sink: EffectSink): void {
  switch (a.type) {
    case 'xstate.raise': {
      const p = a.params as { event: EventObject; id?: string; delay?: number };
      if (typeof p.delay !== 'number') return; // an undelayed raise is consumed inside the transition
      sink.delay(actor, p.id ?? p.event.type, p.delay, p.event);
      return;
    }
    case 'xstate.cancel':
      sink.cancel(actor, String((a.params as { sendId: string }).sendId));
      return;
    default:
      sink.effect(actor, a.type, a.params);
  }
}

/**
 * The actor scope a pure transition runs in: one per machine, made once (xstate's own
 * `transition()` makes one per call). Its action executor is swapped in for each transition.
 */
const scopes = new WeakMap<AnyStateMachine, AnyActorScope>();
const noExecutor = () => {
  throw new Error('an effect was executed outside a transition');
};
function scopeOf(machine: AnyStateMachine): AnyActorScope {
  let s = scopes.get(machine);
  if (!s) {
    // createActor builds its initial snapshot eagerly; without input that fails harmlessly (status
    // "error"); only its `self` and `system` are used here.
    const self = createActor(machine);
    s = {
      self,
      defer: () => {},
      id: '',
      logger: () => {},
      sessionId: '',
      stopChild: () => {},
      system: self.system,
      emit: () => {},
      actionExecutor: noExecutor,
    } as unknown as AnyActorScope;
    scopes.set(machine, s);
  }
  return s;
}
