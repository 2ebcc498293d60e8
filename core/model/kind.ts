/**
 * What the runtime needs to know about one kind of actor, besides its machine:
 * which spontaneous steps it can take now, whether it can receive a message now, and what
 * data it draws or shared memory it touches when it takes a step.
 */
import type { AnyStateMachine, EventObject, SnapshotFrom } from 'xstate';
import type { DataSource } from '../dataSource.ts';
import type { LockMode } from '../locks.ts';
import type { FaultRunner } from '../../kernel/mm/faultRunner.ts';
import type { MemoryPort } from '../../kernel/mm/memory.ts';

/** Read-only view of the world that decides whether a step is enabled. */
export interface WorldView {
  canTake(lock: string, mode?: LockMode): boolean;
  mem: MemoryPort;
  /** Where handle_mm_fault steps run (inline, or a kworker's thread). */
  faults: FaultRunner;
}

/** A spontaneous step an actor offers to the scheduler. */
export interface Offer {
  event: EventObject;
  /** Distinguishes two offers of the same event type, e.g. which work to dispatch. */
  label?: string;
}

/** Effects a step may use before its pure transition: data draws and shared memory. */
export interface Ports {
  data: DataSource;
  mem: MemoryPort;
  faults: FaultRunner;
  params: Record<string, number | boolean | string>;
  bug: string | null;
}

export interface ActorKind<M extends AnyStateMachine = AnyStateMachine> {
  kind: string;
  machine: M;
  /** Spontaneous steps enabled in this snapshot. Pure. */
  offers(snap: SnapshotFrom<M>, view: WorldView): Offer[];
  /** Can `event` be delivered now (e.g. the lock its handler takes is free)? Pure. Default: yes. */
  accepts?(snap: SnapshotFrom<M>, event: EventObject, view: WorldView): boolean;
  /**
   * Effects the step makes before its transition (draw a data choice, touch shared memory);
   * their results are added to the event, so the transition itself stays pure.
   */
  prepare?(snap: SnapshotFrom<M>, event: EventObject, ports: Ports, self: string): EventObject;
}

// Lets modules declare a kind with its machine type inferred.
export function defineKind<M extends AnyStateMachine>(k: ActorKind<M>): ActorKind<M> {
  return k;
}
