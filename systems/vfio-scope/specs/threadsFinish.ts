/**
 * threads-finish: when nothing can run any more, every thread has finished its script (START,
 * GET, STOP, UNMAP, pin, detach each return). A thread left in the middle of a path with no
 * step enabled is blocked for good: a deadlock (each holding what another waits for) or a wait
 * that can never be satisfied.
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';

export const threadsFinish: Monitor = {
  name: 'threads-finish',
  description: 'at quiescence every thread has finished its operations (no deadlock, no wait that never ends)',
  kind: 'liveness',
  observes: [],
  create() {
    return stateful({}, {
      atQuiescence(_st, q) {
        const stuck = Object.entries(q.actors).filter(([, a]) => a.value !== 'done');
        if (stuck.length === 0) return null;
        const what = stuck.map(([id, a]) => {
          const c = a.context as { held?: string[]; pc?: number; ops?: unknown[] };
          const op = c.ops?.[c.pc ?? 0];
          return `${id} in ${a.value} at ${op ? JSON.stringify(op) : 'its end'} holding ${c.held?.length ? c.held.join(', ') : 'nothing'}`;
        });
        return { message: `no thread can run, but ${stuck.length} have not finished: ${what.join('; ')}`, actors: stuck.map(([id]) => id), messages: [] };
      },
    });
  },
};
