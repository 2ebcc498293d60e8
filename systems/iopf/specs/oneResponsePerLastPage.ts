/**
 * Every page request that needs an answer (last of its group, or with VT-d private data) gets
 * exactly one response; no other request gets one (stop markers included). Answers to one
 * (dev, grpid) come in the order the requests were sent. A request dropped because PRI
 * reception was disabled for an unplugging device needs none.
 */
import { type Monitor, type Verdict, stateful } from '../../../core/model/monitor.ts';
import { observed } from '../../../core/model/observations.ts';
import { type PageRequest, needsResponse } from '../machines/types.ts';
import { type IopfObservations, deliveredOf, sentOf } from '../observations.ts';

interface Open {
  req: PageRequest;
  env: number;
}

export const oneResponsePerLastPage: Monitor = {
  name: 'one-response-per-last-page',
  description: 'each last-page request gets exactly one response, and no other request gets one',
  kind: 'liveness',
  observes: ['PAGE_REQ', 'PAGE_RESPONSE', 'obs:prq-dropped'],
  create() {
    // "<dev>/<grpid>" -> unanswered, oldest first
    return stateful(
      { open: new Map<string, Open[]>() },
      {
        onStep({ open }, rec): Verdict | null {
          for (const e of sentOf(rec, 'PAGE_REQ')) {
            const req = e.payload.req;
            const k = `${req.dev}/${req.grpid}`;
            if (needsResponse(req)) open.set(k, [...(open.get(k) ?? []), { req, env: e.id }]);
          }
          for (const o of observed<IopfObservations, 'prq-dropped'>(rec, 'prq-dropped')) {
            if (o.reason !== 'pri-disabled') continue;
            for (const [k, v] of open) open.set(k, v.filter((x) => x.req.reqId !== o.reqId));
          }
          const d = deliveredOf(rec, 'PAGE_RESPONSE');
          if (d) {
            const resp = d.payload.resp;
            const key = `${resp.dev}/${resp.grpid}`;
            const q = open.get(key) ?? [];
            if (q.length === 0) {
              return {
                message: `${resp.dev} received a ${resp.code} response for grpid ${resp.grpid} but has no unanswered last-page request with that grpid (a duplicate, or an answer to a non-last request)`,
                actors: [resp.dev, d.from],
                messages: [d.id],
              };
            }
            open.set(key, q.slice(1));
          }
          return null;
        },
        atQuiescence({ open }, q): Verdict | null {
          const left = [...open.values()].flat();
          if (left.length === 0) return null;
          const first = left[0];
          return {
            message: `${left.length} request(s) needing an answer never answered: ${left.map((o) => `${o.req.reqId} (grpid ${o.req.grpid})`).join(', ')} (${first.req.dev} ends in state ${q.actors[first.req.dev]?.value})`,
            actors: [...new Set(left.map((o) => o.req.dev))],
            messages: left.map((o) => o.env),
          };
        },
      },
    );
  },
};
