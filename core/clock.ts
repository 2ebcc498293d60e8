/**
 * Virtual time. Delayed events (xstate `after`, `raise(..., { delay })`) come out of a transition as
 * data; the world files them here as pending timers, and the scheduler fires the earliest as a
 * step. Ties on the deadline are broken by the order timers were set, never by host timing. No
 * host timer is ever started.
 */
import type { EventObject } from 'xstate';

export interface PendingTimer {
  /** Order of setting: the n-th timer of the run (the timer step's key carries it). */
  seq: number;
  /** The delayed event's id (xstate's send id), unique per owner: cancel uses it. */
  id: string;
  due: number;
  owner: string;
  event: EventObject;
}

export interface ClockSnapshot {
  now: number;
  seq: number;
  timers: PendingTimer[];
}

export class VirtualClock {
  now = 0;
  private seq = 0;
  private timers: PendingTimer[] = [];

  /** File a delayed event of `owner`. */
  set(owner: string, id: string, delay: number, event: EventObject): PendingTimer {
    const t: PendingTimer = { seq: ++this.seq, id, due: this.now + Math.max(0, delay), owner, event };
    this.timers.push(t);
    return t;
  }

  /** xstate.cancel: drop `owner`'s pending timer with this id, if any. */
  cancel(owner: string, id: string): void {
    this.timers = this.timers.filter((t) => !(t.owner === owner && t.id === id));
  }

  /** The timer that fires next: earliest deadline, then lowest sequence number. */
  nextTimer(): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const t of this.timers) {
      if (!best || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    return best;
  }

  /** Take the timer out and advance to its deadline; the caller delivers its event. */
  fire(seq: number): PendingTimer {
    const i = this.timers.findIndex((t) => t.seq === seq);
    if (i < 0) throw new Error(`no pending timer ${seq}`);
    const [t] = this.timers.splice(i, 1);
    this.now = Math.max(this.now, t.due);
    return t;
  }

  /** Every step costs one tick of virtual time. */
  tick(): void {
    this.now++;
  }

  get pending(): number {
    return this.timers.length;
  }

  snapshot(): ClockSnapshot {
    return { now: this.now, seq: this.seq, timers: [...this.timers] };
  }

  restore(s: ClockSnapshot): void {
    this.now = s.now;
    this.seq = s.seq;
    this.timers = [...s.timers];
  }

  /**
   * Pending timers in the order they will fire, as (owner, id, event type): only that order
   * decides behaviour (the earliest is always the one offered), not the clock's value.
   */
  canonical(): [string, string, string][] {
    return [...this.timers].sort((a, b) => a.due - b.due || a.seq - b.seq).map((t) => [t.owner, t.id, t.event.type]);
  }
}
