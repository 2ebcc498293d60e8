/**
 * The named effect actions every kernel machine may use. Machines only *name* them (the bodies
 * here do nothing): a transition returns them as data and the world applies them (core/world.ts),
 * so every machine is a pure transition function you can test without starting anything.
 */
import type { LockMode } from './locks.ts';

export interface SendParams {
  to: string;
  type: string;
  payload: Record<string, unknown>;
}

export interface LockParams {
  lock: string;
  /** The kernel path taking the lock, for lockdep reports. */
  path: string;
  mode?: LockMode;
  /**
   * The kernel thread of control holding it, when it is not the actor itself (the iommufd
   * fault object runs code for the page-request thread and for the VMM's read()).
   */
  thread?: string;
  /** Taken in the IOMMU fault-reporting context (a threaded IRQ that must not wait on userspace). */
  irq?: boolean;
}

/** Something a monitor may observe that is not a message: heap and protocol events. */
export interface Observation {
  what: string;
  [key: string]: unknown;
}

export const effectActions = {
  /** Put an envelope on the bus; the scheduler decides when it is delivered. */
  send: (_: unknown, _params: SendParams) => {},
  /** Take a kernel lock (the step was only enabled because it can be taken). */
  lock: (_: unknown, _params: LockParams) => {},
  /** Drop a kernel lock. */
  unlock: (_: unknown, _params: LockParams) => {},
  /** Report an observation (allocation, free, use of an object, a drop) to the monitors. */
  observe: (_: unknown, _params: Observation) => {},
};

export type EffectActionName = keyof typeof effectActions;

/** The part of xstate's `enqueue` that helpers outside a machine use: named effect actions only. */
export type Enqueue = (action: { type: EffectActionName; params: object }) => void;
