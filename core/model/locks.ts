/**
 * Kernel locks as the model sees them: a step that needs a lock is enabled only when the lock can
 * be taken (`canTake`), every acquire and release is recorded in the step's trace record, and the
 * lockdep monitor (kernel/lockdep.ts) checks order and sleeping with a spinlock held. The table
 * itself is the engine's (core/locks.ts); systems see this port.
 */
export type LockKind = 'mutex' | 'spinlock' | 'rwsem';
export type LockMode = 'read' | 'write';

export interface LockEvent {
  op: 'acquire' | 'release';
  lock: string;
  kind: LockKind;
  mode: LockMode;
  by: string;
  /** What the holder was doing, e.g. "iopf_queue_remove_device". */
  path: string;
  /** Taken in the fault-reporting (threaded IRQ) context. */
  irq?: boolean;
  /** Order within the step, shared with observations (set by the runtime). */
  seq?: number;
}

/** The run's lock table as shared state and executors use it. */
export interface LockPort {
  declare(name: string, kind: LockKind): void;
  canTake(name: string, mode?: LockMode): boolean;
  acquire(name: string, by: string, path: string, mode?: LockMode, irq?: boolean): void;
  release(name: string, by: string, path: string): void;
  heldBy(by: string): readonly string[];
}
