/**
 * no-lock-leak-on-exit: every ioctl and hcall path returns with no lock held, no RCU read-side
 * section and no SRCU section open (ddfd151f3def: an H_PUT_TCE_INDIRECT early exit left
 * kvm->srcu locked and hung the host). At quiescence, no thread is left blocked (a deadlock).
 */
import type { LockEvent } from '../../../core/model/locks.ts';
import type { Monitor } from '../../../core/model/monitor.ts';
import { stateful } from '../../../core/model/monitor.ts';
import type { ThreadCtx } from '../machines/interp.ts';
import { verdict } from './util.ts';

interface St {
  held: Record<string, { lock: string; path: string }[]>;
}

export const noLockLeak: Monitor = {
  name: 'no-lock-leak-on-exit',
  description: 'a thread leaves every ioctl/hcall path with no lock, RCU or SRCU section held; no thread is left blocked',
  kind: 'safety',
  observes: ['locks', 'obs:path-exit'],
  create() {
    return stateful<St>(
      { held: {} },
      {
        onStep(st, rec) {
          const events = [
            ...rec.locks.map((e, i) => ({ seq: e.seq ?? i, lock: e as LockEvent })),
            ...rec.obs.filter((o) => o.what === 'path-exit').map((o) => ({ seq: o.seq, exit: o as unknown as { actor: string; thread: string; path: string; ret: number; rcu: number } })),
          ].sort((a, b) => a.seq - b.seq);
          for (const e of events) {
            if ('lock' in e && e.lock) {
              const mine = (st.held[e.lock.by] ??= []);
              if (e.lock.op === 'acquire') mine.push({ lock: e.lock.lock, path: e.lock.path });
              else {
                const i = mine.map((h) => h.lock).lastIndexOf(e.lock.lock);
                if (i >= 0) mine.splice(i, 1);
              }
            } else if ('exit' in e && e.exit) {
              const x = e.exit;
              const held = st.held[x.thread] ?? [];
              if (held.length) return verdict(`${x.thread} returned ${x.ret} from ${x.path} holding ${held.map((h) => `${h.lock} (taken in ${h.path})`).join(', ')}`, [x.thread]);
              if (x.rcu > 0) return verdict(`${x.thread} returned ${x.ret} from ${x.path} inside ${x.rcu} RCU read-side section(s)`, [x.thread]);
            }
          }
          return null;
        },
        atQuiescence(_st, q) {
          const stuck = Object.entries(q.actors)
            .filter(([, a]) => a.kind !== 'tce.rcu' && !(a.context as unknown as ThreadCtx).done)
            .map(([id, a]) => {
              const c = a.context as unknown as ThreadCtx;
              return `${id} at ${c.path ?? 'next op'}${c.label ? `.${c.label}` : ''} (op ${c.next}: ${c.ops[c.next]?.op}; holding ${c.held.join(', ') || 'nothing'})`;
            });
          if (stuck.length) return verdict(`no step can run but threads are blocked (deadlock): ${stuck.join('; ')}`);
          return null;
        },
      },
    );
  },
};
