/**
 * Kernel locks as first-class resources. A step that needs a lock is enabled only when the
 * lock can be taken (`canTake`); every acquire and release is recorded in the step's trace
 * record, where the lockdep monitor (machines/specs/lockdep.ts) checks lock order and sleeping
 * with a spinlock held.
 */
export type LockKind = 'mutex' | 'spinlock' | 'rwsem';
export type LockMode = 'read' | 'write';

interface LockState {
  kind: LockKind;
  /** Holders: one writer, or any number of readers (rwsem). */
  writer: string | null;
  readers: string[];
}

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

export class LockTable {
  private readonly locks = new Map<string, LockState>();
  /** Locks currently held by each thread of control, in acquisition order. */
  private readonly held = new Map<string, string[]>();
  readonly events: LockEvent[] = [];

  declare(name: string, kind: LockKind): void {
    if (!this.locks.has(name)) this.locks.set(name, { kind, writer: null, readers: [] });
  }

  canTake(name: string, mode: LockMode = 'write'): boolean {
    const l = this.get(name);
    if (l.writer !== null) return false;
    return mode === 'read' ? true : l.readers.length === 0;
  }

  acquire(name: string, by: string, path: string, mode: LockMode = 'write', irq = false, seq?: number): void {
    const l = this.get(name);
    if (!this.canTake(name, mode)) {
      throw new Error(`lock ${name} taken by ${by} (${path}) while held by ${l.writer ?? l.readers.join(',')}`);
    }
    if (mode === 'read' && l.kind !== 'rwsem') throw new Error(`lock ${name} is a ${l.kind}, not an rwsem`);
    const mine = this.held.get(by) ?? [];
    if (mode === 'read') l.readers.push(by);
    else l.writer = by;
    mine.push(name);
    this.held.set(by, mine);
    this.events.push({ op: 'acquire', lock: name, kind: l.kind, mode, by, path, ...(irq ? { irq } : {}), ...(seq !== undefined ? { seq } : {}) });
  }

  release(name: string, by: string, path: string, seq?: number): void {
    const l = this.get(name);
    let mode: LockMode;
    if (l.writer === by) {
      l.writer = null;
      mode = 'write';
    } else {
      const i = l.readers.indexOf(by);
      if (i < 0) throw new Error(`lock ${name} released by ${by} (${path}) which does not hold it`);
      l.readers.splice(i, 1);
      mode = 'read';
    }
    const mine = this.held.get(by) ?? [];
    const j = mine.lastIndexOf(name);
    if (j >= 0) mine.splice(j, 1);
    this.events.push({ op: 'release', lock: name, kind: l.kind, mode, by, path, ...(seq !== undefined ? { seq } : {}) });
  }

  /** Locks held right now, as "name:holder(mode)". */
  snapshot(): string[] {
    const out: string[] = [];
    for (const [name, l] of this.locks) {
      if (l.writer) out.push(`${name}:${l.writer}`);
      for (const r of l.readers) out.push(`${name}:${r}(r)`);
    }
    return out;
  }

  heldBy(by: string): readonly string[] {
    return this.held.get(by) ?? [];
  }

  /** Drain the recorded acquire/release events (the runtime moves them into the step's trace record). */
  drainEvents(): LockEvent[] {
    return this.events.splice(0, this.events.length);
  }

  private get(name: string): LockState {
    const l = this.locks.get(name);
    if (!l) throw new Error(`unknown lock ${name}`);
    return l;
  }
}
