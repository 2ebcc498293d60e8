/**
 * Kernel locks as first-class resources. A step that needs a lock is enabled only when the
 * lock can be taken (`canTake`); every acquire and release is recorded for the trace; and a
 * lockdep-style order graph reports an inversion the first time two locks are taken in both
 * orders, naming both locks and both paths.
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
  mode: LockMode;
  by: string;
  /** What the holder was doing, e.g. "iopf_queue_remove_device". */
  path: string;
}

export interface LockOrderViolation {
  first: string;
  second: string;
  /** Path that took `first` then `second`. */
  path: string;
  /** Earlier path that took `second` then `first`. */
  otherPath: string;
}

export class LockTable {
  private readonly locks = new Map<string, LockState>();
  /** Locks currently held by each thread of control, in acquisition order. */
  private readonly held = new Map<string, string[]>();
  /** "A>B" -> the path that first took A then B. */
  private readonly order = new Map<string, string>();
  readonly events: LockEvent[] = [];
  readonly inversions: LockOrderViolation[] = [];

  declare(name: string, kind: LockKind): void {
    if (!this.locks.has(name)) this.locks.set(name, { kind, writer: null, readers: [] });
  }

  canTake(name: string, mode: LockMode = 'write'): boolean {
    const l = this.get(name);
    if (l.writer !== null) return false;
    return mode === 'read' ? true : l.readers.length === 0;
  }

  acquire(name: string, by: string, path: string, mode: LockMode = 'write'): void {
    const l = this.get(name);
    if (!this.canTake(name, mode)) {
      throw new Error(`lock ${name} taken by ${by} (${path}) while held by ${l.writer ?? l.readers.join(',')}`);
    }
    if (mode === 'read' && l.kind !== 'rwsem') throw new Error(`lock ${name} is a ${l.kind}, not an rwsem`);
    const mine = this.held.get(by) ?? [];
    for (const h of mine) this.noteOrder(h, name, path);
    if (mode === 'read') l.readers.push(by);
    else l.writer = by;
    mine.push(name);
    this.held.set(by, mine);
    this.events.push({ op: 'acquire', lock: name, mode, by, path });
  }

  release(name: string, by: string, path: string): void {
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
    this.events.push({ op: 'release', lock: name, mode, by, path });
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

  private noteOrder(a: string, b: string, path: string): void {
    if (a === b) return;
    const fwd = `${a}>${b}`;
    if (!this.order.has(fwd)) this.order.set(fwd, path);
    const back = this.order.get(`${b}>${a}`);
    if (back !== undefined) this.inversions.push({ first: a, second: b, path, otherPath: back });
  }

  private get(name: string): LockState {
    const l = this.locks.get(name);
    if (!l) throw new Error(`unknown lock ${name}`);
    return l;
  }
}
