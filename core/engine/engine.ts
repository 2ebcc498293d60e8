/**
 * The actor engine: what advances an actor's machine by one event. The world owns the actors'
 * snapshots and applies the effects a step makes; an engine only interprets the machine
 * definitions. Two engines interpret the same definitions: `xstate` (xstate's own pure transition
 * functions) and `fast` (core/fast/: the definitions compiled into plain functions, contexts
 * updated in place). They are checked step for step against each other (test/core/fast/).
 */
import type { AnyMachineSnapshot, AnyStateMachine, EventObject } from 'xstate';

export const ENGINE_NAMES = ['fast', 'xstate'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];
/** The engine explore, replay and the library use when none is named (and PAGERACE_ENGINE is unset). */
export const DEFAULT_ENGINE: EngineName = 'fast';

/**
 * The engine used when none is named: PAGERACE_ENGINE when set (so that a whole test suite or a
 * user's script runs on the other engine without changes), else DEFAULT_ENGINE. Both engines give
 * the same runs step for step, so this changes speed only.
 */
export function defaultEngine(): EngineName {
  const v = typeof process === 'undefined' ? undefined : process.env.PAGERACE_ENGINE;
  if (v === undefined || v === '') return DEFAULT_ENGINE;
  if (!isEngineName(v)) throw new Error(`PAGERACE_ENGINE must be one of ${ENGINE_NAMES.join(', ')}, got "${v}"`);
  return v;
}

/** Where a step's effects go (the world): in the order the machine made them. */
export interface EffectSink {
  /**
   * A named action that is not one of xstate's built-ins: `send`, `lock`, `unlock`, `observe`
   * (core/model/effects.ts). The world reports anything else as a model error.
   */
  effect(actor: string, type: string, params: unknown): void;
  /** A delayed event (xstate `after`, `raise(event, { delay })`) under its id. */
  delay(actor: string, id: string, delay: number, event: EventObject): void;
  /** Cancel `actor`'s delayed event with this id (xstate `cancel`, leaving a state with `after`). */
  cancel(actor: string, id: string): void;
}

export interface ActorEngine {
  readonly name: EngineName;
  /** The actor's first snapshot (xstate's initial transition with `input`), its effects sent to `sink`. */
  start(machine: AnyStateMachine, actor: string, input: unknown, sink: EffectSink): AnyMachineSnapshot;
  /**
   * The snapshot after one event. May update `snap` in place and return it: hold on to a snapshot
   * across steps only through `save`.
   */
  step(machine: AnyStateMachine, actor: string, snap: AnyMachineSnapshot, event: EventObject, sink: EffectSink): AnyMachineSnapshot;
  /** A copy of `snap` that later steps leave unchanged (World.snapshot). */
  save(snap: AnyMachineSnapshot): AnyMachineSnapshot;
  /** A snapshot to go on from, made from a saved one (which stays unchanged: it may be loaded again). */
  load(saved: AnyMachineSnapshot): AnyMachineSnapshot;
}

export function isEngineName(s: string): s is EngineName {
  return (ENGINE_NAMES as readonly string[]).includes(s);
}
