/**
 * A group holds every earlier partial of its page request group that reached the fault
 * parameter, in arrival order, then its last request: nothing missing, nothing stale.
 *
 * "Its page request group" is the device's view: a request belongs to instance n of (dev, grpid)
 * when the device had sent n last requests with that grpid before it. A partial of another
 * instance in a group is stale (a leftover of an earlier group). Partials the kernel documents
 * as dropped (allocation failure, discard after overflow, removal) are expected to be missing.
 */
import { type Monitor, type Verdict, stateful } from '../../../core/model/monitor.ts';
import { deliveredOf, iopfObserved, sentOf } from '../observations.ts';

interface Instances {
  /** "<dev>/<grpid>" -> last requests sent so far. */
  closed: Map<string, number>;
  /** reqId -> "<dev>/<grpid>#<n>". */
  instanceOf: Map<string, string>;
  /** instance -> partial reqIds in arrival order. */
  arrived: Map<string, string[]>;
}

function forget(st: Instances, reqIds: string[]): void {
  for (const id of reqIds) {
    const inst = st.instanceOf.get(id);
    if (inst) st.arrived.set(inst, (st.arrived.get(inst) ?? []).filter((r) => r !== id));
  }
}

export const groupIntegrity: Monitor = {
  name: 'group-integrity',
  description: 'a group holds every earlier partial of its page request group in arrival order, then the last',
  kind: 'safety',
  observes: ['PAGE_REQ', 'REPORT_FAULT', 'obs:group-assembled', 'obs:partial-lost', 'obs:partial-discarded'],
  create() {
    return stateful<Instances>(
      { closed: new Map(), instanceOf: new Map(), arrived: new Map() },
      {
        onStep(st, rec): Verdict | null {
          const { closed, instanceOf, arrived } = st;
          for (const { payload: { req: r } } of sentOf(rec, 'PAGE_REQ')) {
            const key = `${r.dev}/${r.grpid}`;
            const n = closed.get(key) ?? 0;
            instanceOf.set(r.reqId, `${key}#${n}`);
            if (r.last) closed.set(key, n + 1);
          }
          const d = rec.delivered;
          const report = deliveredOf(rec, 'REPORT_FAULT');
          if (report) {
            const f = report.payload.fault;
            const inst = instanceOf.get(f.reqId);
            if (f.kind === 'page-req' && !f.last && !f.privData && inst) arrived.set(inst, [...(arrived.get(inst) ?? []), f.reqId]);
          }
          for (const o of iopfObserved(rec, 'partial-lost', 'partial-discarded', 'group-assembled')) {
            if (o.what === 'partial-lost') forget(st, [o.reqId]);
            if (o.what === 'partial-discarded') forget(st, o.reqIds);
            if (o.what !== 'group-assembled') continue;
            const ids = o.reqIds;
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
      },
    );
  },
};
