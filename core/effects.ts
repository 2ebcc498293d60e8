/**
 * The runtime side of the machines' named effect actions. Each machine is provided once with
 * implementations that look up the effects port of the actor running the action; the port
 * belongs to one run, so machines stay shared and pure.
 */
import { type AnyActorRef, type AnyStateMachine } from 'xstate';
import type { LockParams, Observation, SendParams } from './model/effects.ts';

export interface EffectsPort {
  send(p: SendParams): void;
  lock(p: LockParams): void;
  unlock(p: LockParams): void;
  observe(o: Observation): void;
}

/**
 * Each actor carries its run's port under this symbol. Not a module-level WeakMap: V8's scavenger
 * keeps the values of an old-generation WeakMap whose keys are young alive, so every finished
 * run's actors (and through the port, its World) were promoted: 6x the promoted bytes, 3x the
 * GC pause time of an exploration (`node --trace-gc-nvp`, with workers/v8flags.ts's flags).
 */
const PORT = Symbol('effects port');
type WithPort = AnyActorRef & { [PORT]?: EffectsPort };
const provided = new WeakMap<AnyStateMachine, AnyStateMachine>();

function portOf(self: AnyActorRef): EffectsPort {
  const p = (self as WithPort)[PORT];
  if (!p) throw new Error(`actor ${self.id} has no effects port`);
  return p;
}

export function bindEffects(actor: AnyActorRef, port: EffectsPort): void {
  (actor as WithPort)[PORT] = port;
}

/** The machine with the runtime's effects in place of its named no-op actions. */
export function withEffects<M extends AnyStateMachine>(machine: M): M {
  let m = provided.get(machine);
  if (!m) {
    m = machine.provide({
      actions: {
        send: ({ self }: { self: AnyActorRef }, p: SendParams) => portOf(self).send(p),
        lock: ({ self }: { self: AnyActorRef }, p: LockParams) => portOf(self).lock(p),
        unlock: ({ self }: { self: AnyActorRef }, p: LockParams) => portOf(self).unlock(p),
        observe: ({ self }: { self: AnyActorRef }, p: Observation) => portOf(self).observe(p),
      },
    } as never) as AnyStateMachine;
    provided.set(machine, m);
  }
  return m as M;
}
