/**
 * A group holds every earlier partial of its grpid that reached the fault parameter, in arrival
 * order, then its last request: nothing missing, nothing stale from an earlier group. Partials
 * the kernel documents as dropped (allocation failure, discard after overflow, removal) are
 * expected to be missing. A group's partials end when the device receives its response.
 */
import type { PageRequest, PageResponse } from '../../iopf/types.ts';
import type { Monitor, Verdict } from '../types.ts';

export const groupIntegrity: Monitor = {
  name: 'group-integrity',
  description: 'a group holds every earlier partial with its grpid in arrival order, then the last',
  kind: 'safety',
  observes: ['REPORT_FAULT', 'PAGE_RESPONSE', 'obs:group-assembled', 'obs:partial-lost', 'obs:partial-discarded'],
  create() {
    const arrived = new Map<string, string[]>(); // "<dev>/<grpid>" -> reqIds in arrival order
    const forget = (reqIds: unknown[]) => {
      for (const [k, list] of arrived) arrived.set(k, list.filter((r) => !reqIds.includes(r)));
    };
    return {
      onStep(rec): Verdict | null {
        const d = rec.delivered;
        if (d?.type === 'REPORT_FAULT') {
          const f = d.payload.fault as PageRequest;
          if (f.kind === 'page-req' && !f.last) {
            const k = `${f.dev}/${f.grpid}`;
            arrived.set(k, [...(arrived.get(k) ?? []), f.reqId]);
          }
        }
        if (d?.type === 'PAGE_RESPONSE') {
          const r = d.payload.resp as PageResponse;
          arrived.delete(`${r.dev}/${r.grpid}`);
        }
        for (const o of rec.obs) {
          if (o.what === 'partial-lost') forget([o.reqId]);
          if (o.what === 'partial-discarded') forget(o.reqIds as string[]);
          if (o.what !== 'group-assembled') continue;
          const ids = o.reqIds as string[];
          const k = `${o.dev}/${o.grpid}`;
          const want = [...(arrived.get(k) ?? []), ids[ids.length - 1]];
          arrived.delete(k);
          if (want.join() !== ids.join()) {
            return {
              message: `${o.gid} (grpid ${o.grpid}) holds [${ids.join(', ')}] but should hold [${want.join(', ')}]`,
              actors: [rec.actor],
              messages: d ? [d.id] : [],
            };
          }
        }
        return null;
      },
    };
  },
};
