/**
 * What the engine needs to know about one kind of actor, besides its machine: which spontaneous
 * steps it can take now, whether it can receive a message now, what data it draws or shared state
 * it touches when it takes a step, and which locks and shared objects a step may touch (its
 * footprint, for partial-order reduction).
 */
import type { AnyStateMachine, EventObject, SnapshotFrom } from 'xstate';
import type { LockMode } from './locks.ts';

/** Read-only view of the world that decides whether a step is enabled. */
export interface WorldView {
  canTake(lock: string, mode?: LockMode): boolean;
  /** A piece of the scenario's shared state by name: look, do not change. */
  shared<T = unknown>(name: string): T;
}

/** A spontaneous step an actor offers to the scheduler. */
export interface Offer {
  event: EventObject;
  /** Distinguishes two offers of the same event type, e.g. which work to dispatch. */
  label?: string;
}

/** A labelled data choice. `fault` marks an injected fault (shrinking tries to switch it off). */
export interface DataPort {
  /** Integer in [0, n). */
  int(label: string, n: number): number;
  /** True with probability p (never drawn when p <= 0). */
  chance(label: string, p: number): boolean;
  /** An injected fault (allocation failure, unplug, a user copy that faults) with probability p. */
  fault(label: string, p: number): boolean;
}

/** Effects a step may use before its pure transition: data draws and shared state. */
export interface Ports {
  data: DataPort;
  /** A piece of the scenario's shared state by name, to change. */
  shared<T = unknown>(name: string): T;
  params: Record<string, number | boolean | string>;
}

/**
 * Which locks and shared-state objects a step may touch besides its own actor (and, for a
 * delivery, its channel). `reads`/`writes` name shared-state pieces, optionally narrowed to an
 * object inside one ("mm", "iopt:area3"). Two steps are dependent when they belong to the same
 * actor, share a lock, or one writes what the other reads or writes.
 */
export interface Footprint {
  locks?: readonly string[];
  reads?: readonly string[];
  writes?: readonly string[];
}

export interface ActorKind<M extends AnyStateMachine = AnyStateMachine> {
  /** Namespaced by system, e.g. "iopf.device"; the machine's id is the same. */
  kind: string;
  machine: M;
  /** Spontaneous steps enabled in this snapshot. Pure. */
  offers(snap: SnapshotFrom<M>, view: WorldView): Offer[];
  /** Can `event` be delivered now (e.g. the lock its handler takes is free)? Pure. Default: yes. */
  accepts?(snap: SnapshotFrom<M>, event: EventObject, view: WorldView): boolean;
  /**
   * Effects the step makes before its transition (draw a data choice, touch shared state); their
   * results are added to the event, so the transition itself stays pure.
   */
  prepare?(snap: SnapshotFrom<M>, event: EventObject, ports: Ports, self: string): EventObject;
  /**
   * The locks and shared state the step for `event` may touch (reads in offers/accepts/prepare
   * count). Absent: the step touches only its actor, which is right for a kind that takes no lock
   * and no shared state. The world checks every executed step against it when asked to.
   */
  footprint?(snap: SnapshotFrom<M>, event: EventObject): Footprint;
  /** The context without fields that never change behaviour (statistics), for the world hash. */
  canonical?(snap: SnapshotFrom<M>): unknown;
}

// Lets modules declare a kind with its machine type inferred.
export function defineKind<M extends AnyStateMachine>(k: ActorKind<M>): ActorKind<M> {
  if (k.machine.id !== k.kind) throw new Error(`actor kind ${k.kind}: its machine's id is "${k.machine.id}"; give both the same namespaced name`);
  return k;
}

/**
 * Evaluate a named guard of the machine a snapshot belongs to (with a variant's substitutions,
 * when the machine was provided with them). Lets `offers`/`accepts`/`prepare` consult the same
 * named guards a variant substitutes, instead of testing a bug name.
 */
export function guard(snap: { machine: AnyStateMachine; context: unknown }, name: string, event: EventObject = { type: 'xstate.guard' }): boolean {
  const g = (snap.machine.implementations.guards as Record<string, unknown>)[name];
  if (typeof g !== 'function') throw new Error(`machine ${snap.machine.id} has no guard "${name}"`);
  return Boolean((g as (a: { context: unknown; event: EventObject }, p: unknown) => boolean)({ context: snap.context, event }, undefined));
}
