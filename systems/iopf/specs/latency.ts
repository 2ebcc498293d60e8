/**
 * Not a monitor: a metrics observer. Response latency is the number of scheduler steps from a
 * request that needs an answer leaving the device to its response arriving; fault steps count
 * handle_mm_fault steps run by group works and by partials handled ahead.
 */
import { needsResponse } from '../machines/types.ts';
import { deliveredOf, sentOf } from '../observations.ts';
import type { StepRecord } from '../../../core/model/monitor.ts';

export function latencyObserver() {
  const sentAt = new Map<string, number[]>();
  const m = { responseLatencySum: 0, answeredRequests: 0, maxResponseLatency: 0, faultSteps: 0 };
  return {
    onStep(rec: StepRecord): void {
      for (const { payload: { req: r } } of sentOf(rec, 'PAGE_REQ')) {
        if (!needsResponse(r)) continue;
        const k = `${r.dev}/${r.grpid}`;
        sentAt.set(k, [...(sentAt.get(k) ?? []), rec.i]);
      }
      const answer = deliveredOf(rec, 'PAGE_RESPONSE');
      if (answer) {
        const resp = answer.payload.resp;
        const q = sentAt.get(`${resp.dev}/${resp.grpid}`);
        const at = q?.shift();
        if (at !== undefined) {
          const lat = rec.i - at;
          m.responseLatencySum += lat;
          m.answeredRequests++;
          m.maxResponseLatency = Math.max(m.maxResponseLatency, lat);
        }
      }
      if (rec.event.type === 'FAULT_STEP') m.faultSteps++;
    },
    result(): Record<string, number> {
      return { ...m };
    },
  };
}
