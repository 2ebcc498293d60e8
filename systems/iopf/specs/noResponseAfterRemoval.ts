/** Once a device's removal has completed (REMOVED delivered), no page response reaches it. */
import type { PageResponse } from '../machines/types.ts';
import type { Monitor, Verdict } from '../../../core/model/monitor.ts';

export const noResponseAfterRemoval: Monitor = {
  name: 'no-response-after-removal',
  description: 'no page response reaches a device after its removal completed',
  kind: 'safety',
  observes: ['REMOVED', 'PAGE_RESPONSE'],
  create() {
    const removedAt = new Map<string, number>();
    return {
      onStep(rec): Verdict | null {
        const d = rec.delivered;
        if (d?.type === 'REMOVED') removedAt.set(d.to, rec.i);
        if (d?.type === 'PAGE_RESPONSE' && removedAt.has(d.to)) {
          const r = d.payload.resp as PageResponse;
          return {
            message: `${d.to} received a ${r.code} response for grpid ${r.grpid} after its removal completed at step ${removedAt.get(d.to)}`,
            actors: [d.to, d.from],
            messages: [d.id],
          };
        }
        return null;
      },
    };
  },
};
