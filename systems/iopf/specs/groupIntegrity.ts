/**
 * A group holds every earlier partial of its page request group that reached the fault
 * parameter, in arrival order, then its last request: nothing missing, nothing stale.
 *
 * "Its page request group" is the device's view: a request belongs to instance n of (dev, grpid)
 * when the device had sent n last requests with that grpid before it. A partial of another
 * instance in a group is stale (a leftover of an earlier group). Partials the kernel documents
 * as dropped (allocation failure, discard after overflow, removal) are expected to be missing.
 */
import type { PageRequest } from '../machines/types.ts';
import type { Monitor, Verdict } from '../../../core/model/monitor.ts';

export const groupIntegrity: Monitor = {
  name: 'group-integrity',
  description: 'a group holds every earlier partial of its page request group in arrival order, then the last',
  kind: 'safety',
  observes: ['PAGE_REQ', 'REPORT_FAULT', 'obs:group-assembled', 'obs:partial-lost', 'obs:partial-discarded'],
  create() {
    const closed = new Map<string, number>(); // "<dev>/<grpid>" -> last requests sent so far
    const instanceOf = new Map<string, string>(); // reqId -> "<dev>/<grpid>#<n>"
    const arrived = new Map<string, string[]>(); // instance -> partial reqIds in arrival order
    const forget = (reqIds: unknown[]) => {
      for (const id of reqIds) {
        const inst = instanceOf.get(String(id));
        if (inst) arrived.set(inst, (arrived.get(inst) ?? []).filter((r) => r !== id));
      }
    };
    return {
      onStep(rec): Verdict | null {
        for (const e of rec.sent) {
          if (e.type !== 'PAGE_REQ') continue;
          const r = e.payload.req as PageRequest;
          const key = `${r.dev}/${r.grpid}`;
          const n = closed.get(key) ?? 0;
          instanceOf.set(r.reqId, `${key}#${n}`);
          if (r.last) closed.set(key, n + 1);
        }
        const d = rec.delivered;
        if (d?.type === 'REPORT_FAULT') {
          const f = d.payload.fault as PageRequest;
          const inst = instanceOf.get(f.reqId);
          if (f.kind === 'page-req' && !f.last && !f.privData && inst) arrived.set(inst, [...(arrived.get(inst) ?? []), f.reqId]);
        }
        for (const o of rec.obs) {
          if (o.what === 'partial-lost') forget([o.reqId]);
          if (o.what === 'partial-discarded') forget(o.reqIds as string[]);
          if (o.what !== 'group-assembled') continue;
          const ids = o.reqIds as string[];
          const lastId = ids[ids.length - 1];
          const inst = instanceOf.get(lastId) ?? '?';
          const want = [...(arrived.get(inst) ?? []), lastId];
          arrived.set(inst, []);
          if (want.join() !== ids.join()) {
            const stale = ids.filter((x) => instanceOf.get(x) !== inst);
            return {
              message:
                `${o.gid} (grpid ${o.grpid}) holds [${ids.join(', ')}] but should hold [${want.join(', ')}]` +
                (stale.length ? `; ${stale.join(', ')} belong to an earlier page request group` : ''),
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
