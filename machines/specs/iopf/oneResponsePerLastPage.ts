/**
 * Every page request that needs an answer (last of its group, or with private data) gets
 * exactly one Page Group Response; no other request gets one. A request dropped because PRI
 * reception was disabled for an unplugging device needs none.
 */
import type { Envelope } from '../../../actors/bus.ts';
import { type PageRequest, type PageResponse, needsResponse } from '../../iopf/types.ts';
import type { Monitor, Verdict } from '../types.ts';

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
    const open = new Map<string, Open>(); // "<dev>/<grpid>"
    return {
      onStep(rec): Verdict | null {
        for (const e of rec.sent) {
          if (e.type !== 'PAGE_REQ') continue;
          const req = e.payload.req as PageRequest;
          if (needsResponse(req)) open.set(`${req.dev}/${req.grpid}`, { req, env: e.id });
        }
        for (const o of rec.obs) {
          if (o.what === 'prq-dropped' && o.reason === 'pri-disabled') {
            for (const [k, v] of open) if (v.req.reqId === o.reqId) open.delete(k);
          }
        }
        const d: Envelope | null = rec.delivered;
        if (d?.type === 'PAGE_RESPONSE') {
          const resp = d.payload.resp as PageResponse;
          const key = `${resp.dev}/${resp.grpid}`;
          if (!open.has(key)) {
            return {
              message: `${resp.dev} received a ${resp.code} response for grpid ${resp.grpid} but has no unanswered last-page request with that grpid (a duplicate, or an answer to a non-last request)`,
              actors: [resp.dev, d.from],
              messages: [d.id],
            };
          }
          open.delete(key);
        }
        return null;
      },
      atQuiescence(q): Verdict | null {
        const [first] = open.values();
        if (!first) return null;
        const all = [...open.values()].map((o) => `${o.req.reqId} (grpid ${o.req.grpid})`);
        return {
          message: `${open.size} last-page request(s) never answered: ${all.join(', ')} (${first.req.dev} ends in state ${q.actors[first.req.dev]?.value})`,
          actors: [...new Set([...open.values()].map((o) => o.req.dev))],
          messages: [...open.values()].map((o) => o.env),
        };
      },
    };
  },
};
