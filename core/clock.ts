/**
 * Virtual time for xstate's `clock` option. A delayed event never fires by itself: it becomes
 * a pending timer, and the scheduler fires it as a step. Ties on the deadline are broken by
 * the order timers were set (a sequence number), never by host timing.
 */
/**
 * xstate's Clock interface (not exported from the package root). The `setTimeout` below is this
 * virtual clock's implementation of that interface: it only records a pending timer; no host
 * timer is ever started.
 */
export interface Clock {
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
}

export interface PendingTimer {
  seq: number;
  due: number;
  owner: string;
  fn: () => void;
}

export class VirtualClock {
  now = 0;
  private seq = 0;
  private readonly timers = new Map<number, PendingTimer>();

  /** A Clock bound to one actor, so a timer names who set it. */
  forActor(owner: string): Clock {
    return {
      setTimeout: (fn: (...args: unknown[]) => void, timeout: number) => {
        const seq = ++this.seq;
        this.timers.set(seq, { seq, due: this.now + Math.max(0, timeout), owner, fn });
        return seq;
      },
      clearTimeout: (id: unknown) => {
        this.timers.delete(id as number);
      },
    };
  }

  /** The timer that fires next: earliest deadline, then lowest sequence number. */
  nextTimer(): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const t of this.timers.values()) {
      if (!best || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    return best;
  }

  /** Advance to the timer's deadline and run it. */
  fire(seq: number): void {
    const t = this.timers.get(seq);
    if (!t) throw new Error(`no pending timer ${seq}`);
    this.timers.delete(seq);
    this.now = Math.max(this.now, t.due);
    t.fn();
  }

  /** Every step costs one tick of virtual time. */
  tick(): void {
    this.now++;
  }

  get pending(): number {
    return this.timers.size;
  }
}
