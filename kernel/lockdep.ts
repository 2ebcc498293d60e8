/**
 * lockdep for the model. From the lock events of every step it keeps, per thread of control,
 * the locks held, and a graph of "A was held while B was taken" with the path that did it.
 * It fails:
 *  - the first time two locks are taken in both orders (naming both locks and both paths);
 *  - when a sleeping lock (mutex, rwsem) is taken with a spinlock held;
 *  - when a step that may sleep (`might-sleep`: GFP_KERNEL allocation, waiting) or fault on user
 *    memory (`might-fault`: copy_to/from_user) runs with a spinlock held;
 *  - when a lock held across a user-memory fault is also taken in the IOMMU fault-reporting
 *    context (a threaded IRQ): userspace paging could then stall every device's fault handling.
 */
import type { LockEvent } from '../core/model/locks.ts';
import { type Monitor, type Verdict, stateful } from '../core/model/monitor.ts';
import { type Observed, observed } from '../core/model/observations.ts';

/**
 * What lockdep reads besides lock events: a step that may sleep or fault on user memory, run by
 * `thread` (default: the observing actor) in kernel path `path`.
 */
export type LockdepObservations = {
  'might-sleep': { path: string; thread?: string };
  'might-fault': { path: string; thread?: string };
};

type Sleeper = Observed<LockdepObservations, 'might-sleep'> | Observed<LockdepObservations, 'might-fault'>;

interface LockdepState {
  /** Locks held, by thread of control, in the order taken. */
  held: Map<string, LockEvent[]>;
  /** "A>B" -> path that took B while holding A. */
  order: Map<string, string>;
  /** lock -> reporting-context path that takes it. */
  irqPaths: Map<string, string>;
  /** lock -> path that held it across a user fault. */
  userFault: Map<string, string>;
}

function spinHeld(st: LockdepState, by: string): LockEvent | undefined {
  return (st.held.get(by) ?? []).find((h) => h.kind === 'spinlock');
}

function stall(st: LockdepState, lock: string): Verdict {
  return {
    message: `${lock} is held across a user-memory fault in ${st.userFault.get(lock)} and taken in the fault-reporting context by ${st.irqPaths.get(lock)}: userspace paging can stall IOMMU fault handling`,
    actors: [],
    messages: [],
  };
}

function acquire(st: LockdepState, e: LockEvent): Verdict | null {
  const mine = st.held.get(e.by) ?? [];
  const spin = spinHeld(st, e.by);
  if (spin && e.kind !== 'spinlock') {
    return { message: `${e.by} takes sleeping ${e.kind} ${e.lock} in ${e.path} while holding spinlock ${spin.lock} (taken in ${spin.path})`, actors: [e.by], messages: [] };
  }
  for (const h of mine) {
    if (h.lock === e.lock) continue;
    const back = st.order.get(`${e.lock}>${h.lock}`);
    if (back !== undefined) {
      return {
        message: `lock order inversion: ${e.path} takes ${e.lock} while holding ${h.lock}, but ${back} took ${h.lock} while holding ${e.lock}`,
        actors: [e.by],
        messages: [],
      };
    }
    if (!st.order.has(`${h.lock}>${e.lock}`)) st.order.set(`${h.lock}>${e.lock}`, e.path);
  }
  if (e.irq) {
    if (!st.irqPaths.has(e.lock)) st.irqPaths.set(e.lock, e.path);
    if (st.userFault.has(e.lock)) return stall(st, e.lock);
  }
  mine.push(e);
  st.held.set(e.by, mine);
  return null;
}

function sleeps(st: LockdepState, o: Sleeper): Verdict | null {
  const thread = String(o.thread ?? o.actor);
  const spin = spinHeld(st, thread);
  if (spin) {
    return { message: `${thread} may sleep in ${o.path} while holding spinlock ${spin.lock} (taken in ${spin.path})`, actors: [o.actor], messages: [] };
  }
  if (o.what !== 'might-fault') return null;
  for (const h of st.held.get(thread) ?? []) {
    if (!st.userFault.has(h.lock)) st.userFault.set(h.lock, String(o.path));
    if (st.irqPaths.has(h.lock)) return stall(st, h.lock);
  }
  return null;
}

function release(st: LockdepState, e: LockEvent): void {
  const mine = st.held.get(e.by) ?? [];
  const i = mine.map((h) => h.lock).lastIndexOf(e.lock);
  if (i >= 0) mine.splice(i, 1);
}

export const lockdep: Monitor = {
  name: 'lockdep',
  description: 'no lock-order inversion, no sleeping with a spinlock held, no user fault under a lock the fault-reporting path takes',
  kind: 'safety',
  observes: ['locks', 'obs:might-sleep', 'obs:might-fault'],
  create() {
    const init: LockdepState = { held: new Map(), order: new Map(), irqPaths: new Map(), userFault: new Map() };
    return stateful(init, {
      onStep(st, rec): Verdict | null {
        // Lock events and observations in the order they happened within the step.
        const sleepers: Sleeper[] = [...observed<LockdepObservations, 'might-sleep'>(rec, 'might-sleep'), ...observed<LockdepObservations, 'might-fault'>(rec, 'might-fault')];
        const events = [...rec.locks.map((e, i) => ({ seq: e.seq ?? i, lock: e })), ...sleepers.map((o) => ({ seq: o.seq, obs: o }))].sort((a, b) => a.seq - b.seq);
        for (const x of events) {
          let v: Verdict | null = null;
          if ('obs' in x && x.obs) v = sleeps(st, x.obs);
          else if ('lock' in x && x.lock) {
            if (x.lock.op === 'acquire') v = acquire(st, x.lock);
            else release(st, x.lock);
          }
          if (v) return v;
        }
        return null;
      },
    });
  },
};
