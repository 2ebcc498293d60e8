/**
 * dirty-terminates (liveness): at quiescence every ioctl and split that began has ended, no thread
 * is stuck with work left, every GET pinned its bitmap a bounded number of times (the windows of
 * its buffer, twice over, plus one re-pin per record that crossed a window), and every split that
 * installed tables invalidated the TLB after its last install (the seed's final flush_iotlb_all,
 * or a per-block flush).
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { is } from './util.ts';

interface St {
  open: Record<string, { op: string; actor: string; step: number }>;
  unflushed: Record<string, { n: number; last: string }>;
  problems: string[];
}

export const terminates: Monitor = {
  name: 'dirty-terminates',
  description: 'every ioctl and split ends, GET pins are bounded, a split flushes the TLB after its installs',
  kind: 'liveness',
  observes: ['obs:op-begin', 'obs:op-end', 'obs:install-table', 'obs:tlbi', 'obs:get-return'],
  create() {
    return stateful<St>({ open: {}, unflushed: {}, problems: [] }, {
      onStep(st, rec) {
        for (const o of rec.obs) {
          if (is(o, 'op-begin')) st.open[o.id] = { op: o.op, actor: o.actor, step: rec.i };
          else if (is(o, 'op-end')) {
            delete st.open[o.id];
            const u = st.unflushed[o.id];
            if (o.op === 'SPLIT' && u && u.n > 0) st.problems.push(`${o.id} returned at step ${rec.i} with ${u.n} table installs (last: ${u.last}) and no TLB invalidation after them`);
            delete st.unflushed[o.id];
          } else if (is(o, 'install-table') && o.replaced === 'block' && o.ok) {
            const u = (st.unflushed[o.op] ??= { n: 0, last: '' });
            u.n++;
            u.last = `${o.table}[${o.idx}] at step ${rec.i}`;
          } else if (is(o, 'tlbi') && o.kind !== 'noop' && st.unflushed[o.op]) {
            st.unflushed[o.op].n = 0;
          } else if (is(o, 'get-return')) {
            const bound = 2 * o.windows + o.crossings + 2;
            if (o.pins > bound) st.problems.push(`${o.op} pinned its bitmap ${o.pins} times for ${o.windows} windows and ${o.crossings} crossing records (bound ${bound})`);
          }
        }
        return null;
      },
      atQuiescence(st, q) {
        if (st.problems.length) return { message: st.problems[0], actors: [], messages: [] };
        const open = Object.entries(st.open);
        if (open.length) return { message: `at quiescence ${open.map(([id, x]) => `${x.op} ${id} of ${x.actor} (since step ${x.step})`).join(', ')} never ended`, actors: open.map(([, x]) => x.actor), messages: [] };
        const stuck = Object.entries(q.actors).filter(([, a]) => {
          const c = a.context as { next?: { type: string } | null; waits?: { type: string } | null; phase?: string };
          return a.kind.startsWith('dirty.') && (c.next || (c.waits && c.phase !== 'idle'));
        });
        if (stuck.length) {
          return {
            message: `at quiescence ${stuck.map(([id, a]) => { const c = a.context as { next?: { type: string } | null; waits?: { type: string } | null; phase?: string }; return `${id} is stuck in ${c.phase} (${c.next ? `its step ${c.next.type} cannot run` : `waiting for ${c.waits!.type}`})`; }).join('; ')}`,
            actors: stuck.map(([id]) => id),
            messages: [],
          };
        }
        return null;
      },
    });
  },
};
