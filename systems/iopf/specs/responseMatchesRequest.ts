/**
 * A response carries the grpid of the last request it answers, and the PASID exactly when that
 * request had a valid PASID and the function requires one in responses (PRG Response PASID
 * Required); then it must be the request's PASID.
 */
import { type Monitor, type Verdict, stateful } from '../../../core/model/monitor.ts';
import { type PageRequest, needsResponse } from '../machines/types.ts';
import { deliveredOf, sentOf } from '../observations.ts';

export const responseMatchesRequest: Monitor = {
  name: 'response-matches-request',
  description: 'a response carries the grpid of its last request, and the pasid exactly when required',
  kind: 'safety',
  observes: ['PAGE_REQ', 'PAGE_RESPONSE'],
  create() {
    // "<dev>/<grpid>" -> the last request sent that needs an answer
    return stateful(
      { last: new Map<string, PageRequest>() },
      {
        onStep({ last }, rec): Verdict | null {
          for (const { payload: { req } } of sentOf(rec, 'PAGE_REQ')) {
            if (needsResponse(req)) last.set(`${req.dev}/${req.grpid}`, req);
          }
          const d = deliveredOf(rec, 'PAGE_RESPONSE');
          if (!d) return null;
          const resp = d.payload.resp;
          const req = last.get(`${resp.dev}/${resp.grpid}`);
          if (!req) {
            return {
              message: `${resp.dev} received a response with grpid ${resp.grpid}, which no last-page request of that device carried`,
              actors: [resp.dev],
              messages: [d.id],
            };
          }
          const want = req.pasidValid && req.needsPasid;
          if (want && resp.pasid !== req.pasid) {
            return {
              message: `response to ${req.reqId} (grpid ${req.grpid}) must carry pasid ${req.pasid} but carries ${resp.pasid === undefined ? 'none' : resp.pasid}`,
              actors: [resp.dev, d.from],
              messages: [d.id],
            };
          }
          if (!want && resp.pasid !== undefined) {
            return {
              message: `response to ${req.reqId} (grpid ${req.grpid}) carries pasid ${resp.pasid} though the request does not need one`,
              actors: [resp.dev, d.from],
              messages: [d.id],
            };
          }
          return null;
        },
      },
    );
  },
};
