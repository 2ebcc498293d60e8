/**
 * The run's lock table (core/model/locks.ts is the port systems see). A step that needs a lock is
 * enabled only when it can take it; every acquire and release is recorded and moved into the
 * step's trace record. Locks taken by machines' effects carry an in-step sequence number shared
 * with observations; those a shared-state piece takes itself (mmap_lock) carry none.
 */
import type { LockEvent, LockKind, LockMode, LockPort } from './model/locks.ts';

interface LockState {
  kind: LockKind;
  /** Holders: one writer, or any number of readers (rwsem). */
  writer: string | null;
  readers: string[];
}

/** The table as data: every lock's holders, and each thread's locks in acquisition order. */
export interface LockTableSnapshot {
  locks: [string, LockState][];
  held: [string, string[]][];
}

/** What a step that took and dropped no lock records (shared, never changed). */
const NO_EVENTS: LockEvent[] = Object.freeze([]) as unknown as LockEvent[];

export class LockTable implements LockPort {
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
    const e: LockEvent = { op: 'acquire', lock: name, kind: l.kind, mode, by, path };
    if (irq) e.irq = irq;
    if (seq !== undefined) e.seq = seq;
    this.events.push(e);
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
    const e: LockEvent = { op: 'release', lock: name, kind: l.kind, mode, by, path };
    if (seq !== undefined) e.seq = seq;
    this.events.push(e);
  }

  /** Locks held right now, as "name:holder(mode)". */
  holders(): string[] {
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

  /** Drain the recorded acquire/release events (the world moves them into the step's trace record). */
  drainEvents(): LockEvent[] {
    return this.events.length === 0 ? NO_EVENTS : this.events.splice(0, this.events.length);
  }

  snapshot(): LockTableSnapshot {
    return {
      locks: [...this.locks].map(([n, l]) => [n, { kind: l.kind, writer: l.writer, readers: [...l.readers] }]),
      held: [...this.held].filter(([, h]) => h.length > 0).map(([by, h]) => [by, [...h]]),
    };
  }

  restore(s: LockTableSnapshot): void {
    this.locks.clear();
    for (const [n, l] of s.locks) this.locks.set(n, { kind: l.kind, writer: l.writer, readers: [...l.readers] });
    this.held.clear();
    for (const [by, h] of s.held) this.held.set(by, [...h]);
    this.events.length = 0;
  }

  /** Holders by lock, readers sorted, free locks left out: equal for equal states. */
  canonical(): [string, string | null, string[]][] {
    const out: [string, string | null, string[]][] = [];
    for (const [n, l] of this.locks) if (l.writer || l.readers.length) out.push([n, l.writer, [...l.readers].sort()]);
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  private get(name: string): LockState {
    const l = this.locks.get(name);
    if (!l) throw new Error(`unknown lock ${name}`);
    return l;
  }
}
