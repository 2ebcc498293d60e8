/**
 * ioctls-complete (liveness): at quiescence every thread finished its script and holds no lock;
 * nobody waits for a reply that will not come (an unmap callback, a device detach).
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';

export const ioctlsComplete: Monitor = {
  name: 'ioctls-complete',
  description: 'every thread finishes its ioctls and holds no lock at quiescence',
  kind: 'liveness',
  observes: [],
  create() {
    return stateful<Record<string, never>>({}, {
      atQuiescence(_s, q) {
        const stuck: string[] = [];
        for (const [id, a] of Object.entries(q.actors)) {
          const c = a.context as { held?: string[]; ops?: unknown[]; opIdx?: number; queue?: unknown[]; pending?: number; opName?: string };
          const why: string[] = [];
          if (a.value !== 'idle') why.push(`in ${a.value}${c.opName ? ` (${c.opName})` : ''}`);
          if (c.held?.length) why.push(`holding ${c.held.join(', ')}`);
          if (c.ops && (c.opIdx ?? 0) < c.ops.length) why.push(`${c.ops.length - (c.opIdx ?? 0)} op(s) left`);
          if (c.queue?.length) why.push(`${c.queue.length} queued`);
          if (c.pending) why.push(`waiting for ${c.pending} repl${c.pending === 1 ? 'y' : 'ies'}`);
          if (why.length) stuck.push(`${id} ${why.join(', ')}`);
        }
        return stuck.length ? { message: `stuck at quiescence: ${stuck.join('; ')}`, actors: Object.keys(q.actors).filter((id) => stuck.some((s) => s.startsWith(`${id} `))), messages: [] } : null;
      },
    });
  },
};
