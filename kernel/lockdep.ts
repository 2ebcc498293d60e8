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
import type { Monitor, Verdict } from '../core/model/monitor.ts';

export const lockdep: Monitor = {
  name: 'lockdep',
  description: 'no lock-order inversion, no sleeping with a spinlock held, no user fault under a lock the fault-reporting path takes',
  kind: 'safety',
  observes: ['locks', 'obs:might-sleep', 'obs:might-fault'],
  create() {
    const held = new Map<string, LockEvent[]>();
    const order = new Map<string, string>(); // "A>B" -> path that took B while holding A
    const irqPaths = new Map<string, string>(); // lock -> reporting-context path that takes it
    const userFault = new Map<string, string>(); // lock -> path that held it across a user fault
    const spinHeld = (by: string) => (held.get(by) ?? []).find((h) => h.kind === 'spinlock');
    const stall = (lock: string): Verdict => ({
      message: `${lock} is held across a user-memory fault in ${userFault.get(lock)} and taken in the fault-reporting context by ${irqPaths.get(lock)}: userspace paging can stall IOMMU fault handling`,
      actors: [],
      messages: [],
    });

    function acquire(e: LockEvent): Verdict | null {
      const mine = held.get(e.by) ?? [];
      const spin = spinHeld(e.by);
      if (spin && e.kind !== 'spinlock') {
        return { message: `${e.by} takes sleeping ${e.kind} ${e.lock} in ${e.path} while holding spinlock ${spin.lock} (taken in ${spin.path})`, actors: [e.by], messages: [] };
      }
      for (const h of mine) {
        if (h.lock === e.lock) continue;
        const back = order.get(`${e.lock}>${h.lock}`);
        if (back !== undefined) {
          return {
            message: `lock order inversion: ${e.path} takes ${e.lock} while holding ${h.lock}, but ${back} took ${h.lock} while holding ${e.lock}`,
            actors: [e.by],
            messages: [],
          };
        }
        if (!order.has(`${h.lock}>${e.lock}`)) order.set(`${h.lock}>${e.lock}`, e.path);
      }
      if (e.irq) {
        if (!irqPaths.has(e.lock)) irqPaths.set(e.lock, e.path);
        if (userFault.has(e.lock)) return stall(e.lock);
      }
      mine.push(e);
      held.set(e.by, mine);
      return null;
    }

    function sleeps(o: { actor: string; what: string; path?: unknown; thread?: unknown }): Verdict | null {
      const thread = String(o.thread ?? o.actor);
      const spin = spinHeld(thread);
      if (spin) {
        return { message: `${thread} may sleep in ${o.path} while holding spinlock ${spin.lock} (taken in ${spin.path})`, actors: [o.actor], messages: [] };
      }
      if (o.what !== 'might-fault') return null;
      for (const h of held.get(thread) ?? []) {
        if (!userFault.has(h.lock)) userFault.set(h.lock, String(o.path));
        if (irqPaths.has(h.lock)) return stall(h.lock);
      }
      return null;
    }

    function release(e: LockEvent): void {
      const mine = held.get(e.by) ?? [];
      const i = mine.map((h) => h.lock).lastIndexOf(e.lock);
      if (i >= 0) mine.splice(i, 1);
    }

    return {
      onStep(rec): Verdict | null {
        // Lock events and observations in the order they happened within the step.
        const events = [
          ...rec.locks.map((e, i) => ({ seq: e.seq ?? i, lock: e })),
          ...rec.obs.filter((o) => o.what === 'might-sleep' || o.what === 'might-fault').map((o) => ({ seq: o.seq, obs: o })),
        ].sort((a, b) => a.seq - b.seq);
        for (const x of events) {
          let v: Verdict | null = null;
          if ('obs' in x && x.obs) v = sleeps(x.obs);
          else if ('lock' in x && x.lock) {
            if (x.lock.op === 'acquire') v = acquire(x.lock);
            else release(x.lock);
          }
          if (v) return v;
        }
        return null;
      },
    };
  },
};
