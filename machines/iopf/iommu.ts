/**
 * The IOMMU's page-request side: a bounded hardware page-request queue (PRQ) drained by the
 * driver's page-request thread (VT-d prq_event_thread, SMMUv3 evtq/priq thread), the
 * overflow flag (PRO), and ops->page_response() toward the device.
 *
 * Hardware on overflow (VT-d 7.5.1): when the queue is full, or PRO is already set, the request
 * is not written; a last-page (or private-data) request is answered by the hardware itself.
 * The thread clears PRO only when the queue is empty, after iopf_queue_discard_partial().
 *
 * Device release (the driver's remove path): PRI reception for the device is disabled, the
 * PRQ is drained of its requests, then iopf_queue_remove_device() runs.
 *
 * Locks: the PRQ head/tail belong to the one page-request thread; `released` and
 * `removing` change only under the IOMMU's device lock in the release path (one step here).
 */
import { assign, enqueueActions, setup } from 'xstate';
import { effectActions } from '../effects.ts';
import { defineKind } from '../kind.ts';
import { type PageRequest, type PageResponse, needsResponse, responseFor } from './types.ts';

export interface IommuContext {
  id: string;
  depth: number;
  prq: PageRequest[];
  /** DMA_PRS_PRO */
  pro: boolean;
  /** Devices whose PRI reception is disabled. */
  released: string[];
  /** Released devices waiting for the PRQ to drain before iopf_queue_remove_device(). */
  removing: string[];
  /** Fault-parameter actor of each device. */
  faultParams: Record<string, string>;
  /** queue->devices: devices iopf_queue_discard_partial() walks (unlinked by remove_device). */
  onQueue: string[];
  overflows: number;
  maxOccupancy: number;
  bug: string | null;
}

export interface IommuInput {
  id: string;
  depth: number;
  faultParams: Record<string, string>;
  bug: string | null;
}

type IommuEvent =
  | { type: 'PAGE_REQ'; req: PageRequest }
  | { type: 'DMA_FAULT'; req: PageRequest }
  | { type: 'PRQ_SERVICE' }
  | { type: 'PRQ_CLEAR_OVERFLOW' }
  | { type: 'PAGE_RESPONSE_CMD'; resp: PageResponse }
  | { type: 'RELEASE_DEVICE'; dev: string }
  | { type: 'REMOVE_FROM_QUEUE'; dev: string }
  | { type: 'DEVICE_REMOVED'; dev: string };

export const iommuMachine = setup({
  types: {
    context: {} as IommuContext,
    events: {} as IommuEvent,
    input: {} as IommuInput,
  },
  actions: {
    ...effectActions,
    acceptRequest: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'PAGE_REQ') return;
      const req = event.req;
      if (context.released.includes(req.dev)) {
        enqueue({ type: 'observe', params: { what: 'prq-dropped', reason: 'pri-disabled', reqId: req.reqId, dev: req.dev } });
        return;
      }
      if (context.pro || context.prq.length >= context.depth) {
        enqueue(assign({ pro: true, overflows: context.overflows + 1 }));
        enqueue({ type: 'observe', params: { what: 'prq-dropped', reason: 'overflow', reqId: req.reqId, dev: req.dev, grpid: req.grpid } });
        if (needsResponse(req)) {
          const resp: PageResponse = { ...responseFor(req, 'SUCCESS'), auto: true };
          enqueue({ type: 'send', params: { to: req.dev, type: 'PAGE_RESPONSE', payload: { resp } } });
        }
        return;
      }
      const prq = [...context.prq, req];
      enqueue(assign({ prq, maxOccupancy: Math.max(context.maxOccupancy, prq.length) }));
      enqueue({ type: 'observe', params: { what: 'prq-occupancy', n: prq.length, depth: context.depth } });
    }),
    serviceHead: enqueueActions(({ context, enqueue }) => {
      const [head, ...rest] = context.prq;
      enqueue(assign({ prq: rest }));
      enqueue({ type: 'send', params: { to: context.faultParams[head.dev], type: 'REPORT_FAULT', payload: { fault: head } } });
    }),
    clearOverflow: enqueueActions(({ context, enqueue }) => {
      for (const dev of context.onQueue) {
        enqueue({ type: 'send', params: { to: context.faultParams[dev], type: 'DISCARD_PARTIAL', payload: {} } });
      }
      enqueue(assign({ pro: false }));
    }),
  },
}).createMachine({
  id: 'iommu',
  context: ({ input }) => ({
    id: input.id,
    depth: input.depth,
    prq: [],
    pro: false,
    released: [],
    removing: [],
    faultParams: input.faultParams,
    onQueue: Object.keys(input.faultParams),
    overflows: 0,
    maxOccupancy: 0,
    bug: input.bug,
  }),
  initial: 'running',
  states: {
    running: {
      on: {
        PAGE_REQ: { actions: 'acceptRequest' },
        // Unrecoverable faults come through the fault recording registers, not the PRQ.
        DMA_FAULT: {
          actions: {
            type: 'send',
            params: ({ context, event }) => ({ to: context.faultParams[event.req.dev], type: 'REPORT_FAULT', payload: { fault: event.req } }),
          },
        },
        PRQ_SERVICE: { actions: 'serviceHead' },
        PRQ_CLEAR_OVERFLOW: { actions: 'clearOverflow' },
        PAGE_RESPONSE_CMD: {
          actions: { type: 'send', params: ({ event }) => ({ to: event.resp.dev, type: 'PAGE_RESPONSE', payload: { resp: event.resp } }) },
        },
        RELEASE_DEVICE: {
          actions: assign(({ context, event }) => ({
            released: [...context.released, event.dev],
            removing: [...context.removing, event.dev],
          })),
        },
        REMOVE_FROM_QUEUE: {
          actions: [
            assign(({ context, event }) => ({
              removing: context.removing.filter((d) => d !== event.dev),
              onQueue: context.onQueue.filter((d) => d !== event.dev),
            })),
            { type: 'send', params: ({ context, event }) => ({ to: context.faultParams[event.dev], type: 'QUEUE_REMOVE_DEVICE', payload: {} }) },
          ],
        },
        // The driver's remove path returns: disable PRI on the device.
        DEVICE_REMOVED: {
          actions: { type: 'send', params: ({ event }) => ({ to: event.dev, type: 'REMOVED', payload: {} }) },
        },
      },
    },
  },
});

export const iommuKind = defineKind({
  kind: 'iommu',
  machine: iommuMachine,
  offers(snap) {
    const c = snap.context;
    const out = [];
    if (c.prq.length > 0) out.push({ event: { type: 'PRQ_SERVICE' } });
    if (c.pro && c.prq.length === 0) out.push({ event: { type: 'PRQ_CLEAR_OVERFLOW' } });
    for (const dev of c.removing) {
      // Drain: the device's requests already in the PRQ are reported before it is removed.
      if (!c.prq.some((r) => r.dev === dev)) out.push({ event: { type: 'REMOVE_FROM_QUEUE', dev }, label: dev });
    }
    return out;
  },
});
