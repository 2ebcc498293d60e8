/**
 * The IOMMU's page-request side: a bounded hardware queue drained by the driver's
 * page-request thread (VT-d prq_event_thread, SMMUv3 evtq thread), the overflow flag (PRO), and
 * ops->page_response() toward the device.
 *
 * PRI on overflow (VT-d 7.5.1): when the queue is full, or PRO is already set, the request is
 * not written; a last-page (or private-data) request is answered by the hardware itself. The
 * thread clears PRO only when the queue is empty, after iopf_queue_discard_partial().
 * SMMU stall: the event queue never drops a stall; a full queue back-pressures the device.
 *
 * The thread drops PASID Stop Markers (LRW=100) before reporting, and reports a VT-d
 * private-data request with LAST_PAGE set so that it is answered.
 *
 * Device release: PRI reception for the device is disabled, the queue is drained of its
 * requests, then iopf_queue_remove_device(). PASID drain (intel_drain_pasid_prq): wait until the
 * queue holds no request of the PASID, then fence the fault parameter so that every report the
 * thread made for it has returned.
 *
 * Locks: the queue head/tail belong to the one page-request thread; `released`, `removing`,
 * `onQueue` change under the IOMMU's device lock in the release path (one step here).
 */
import { assign, enqueueActions, setup } from 'xstate';
import { effectActions } from '../../../core/model/effects.ts';
import { iopfObservation } from '../observations.ts';
import { defineKind, guard } from '../../../core/model/kind.ts';
import { withoutStatistics } from './canonical.ts';
import { type PageRequest, type PageResponse, needsResponse, responseFor } from './types.ts';

export interface IommuContext {
  id: string;
  depth: number;
  prq: PageRequest[];
  /** DMA_PRS_PRO */
  pro: boolean;
  /** Devices whose PRI reception is disabled. */
  released: string[];
  /** Released devices waiting for the queue to drain before iopf_queue_remove_device(). */
  removing: string[];
  /** Fault-parameter actor of each device. */
  faultParams: Record<string, string>;
  /** Driver (unbind path) actor of each device. */
  drivers: Record<string, string>;
  /** queue->devices: devices iopf_queue_discard_partial() walks (unlinked by remove_device). */
  onQueue: string[];
  /** PASID drains in progress: (dev, pasid). */
  draining: { dev: string; pasid: number }[];
  overflows: number;
  maxOccupancy: number;
}

export interface IommuInput {
  id: string;
  depth: number;
  faultParams: Record<string, string>;
  drivers: Record<string, string>;
}

type IommuEvent =
  | { type: 'PAGE_REQ'; req: PageRequest }
  | { type: 'DMA_FAULT'; req: PageRequest }
  | { type: 'PRQ_SERVICE' }
  | { type: 'PRQ_CLEAR_OVERFLOW' }
  | { type: 'PAGE_RESPONSE_CMD'; resp: PageResponse }
  | { type: 'RELEASE_DEVICE'; dev: string }
  | { type: 'REMOVE_FROM_QUEUE'; dev: string }
  | { type: 'DEVICE_REMOVED'; dev: string }
  | { type: 'PASID_STOPPED'; dev: string }
  | { type: 'DRAIN_PASID'; dev: string; pasid: number }
  | { type: 'PASID_DRAINED'; dev: string; pasid: number };

export const iommuMachine = setup({
  types: {
    context: {} as IommuContext,
    events: {} as IommuEvent,
    input: {} as IommuInput,
  },
  actions: {
    ...effectActions,
    acceptRequest: enqueueActions(({ context: c, event, enqueue }) => {
      if (event.type !== 'PAGE_REQ') return;
      const req = event.req;
      if (c.released.includes(req.dev)) {
        enqueue({ type: 'observe', params: iopfObservation('prq-dropped', { reason: 'pri-disabled', reqId: req.reqId, dev: req.dev }) });
        return;
      }
      if (req.transport === 'pri' && (c.pro || c.prq.length >= c.depth)) {
        enqueue(assign({ pro: true, overflows: c.overflows + 1 }));
        enqueue({ type: 'observe', params: iopfObservation('prq-dropped', { reason: 'overflow', reqId: req.reqId, dev: req.dev, grpid: req.grpid }) });
        if (needsResponse(req)) {
          const resp: PageResponse = { ...responseFor(req, 'SUCCESS'), auto: true };
          enqueue({ type: 'send', params: { to: req.dev, type: 'PAGE_RESPONSE', payload: { resp } } });
        }
        return;
      }
      const prq = [...c.prq, req];
      enqueue(assign({ prq, maxOccupancy: Math.max(c.maxOccupancy, prq.length) }));
      enqueue({ type: 'observe', params: iopfObservation('prq-occupancy', { n: prq.length, depth: c.depth }) });
    }),
    serviceHead: enqueueActions(({ context: c, enqueue, check }) => {
      const [head, ...rest] = c.prq;
      enqueue(assign({ prq: rest }));
      if (head.kind === 'stop-marker' && check('dropsStopMarkers')) {
        // "Drop Stop Marker message. No need for a response."
        enqueue({ type: 'observe', params: iopfObservation('stop-marker-dropped', { reqId: head.reqId, dev: head.dev }) });
        return;
      }
      let fault = head;
      if (head.kind === 'stop-marker') fault = { ...head, kind: 'page-req' };
      // VT-d reports a page request with private data as a last page, so that it is answered.
      if (head.privData && check('reportsPrivDataAsLast')) fault = { ...fault, last: true };
      enqueue({ type: 'send', params: { to: c.faultParams[head.dev], type: 'REPORT_FAULT', payload: { fault } } });
    }),
    clearOverflow: enqueueActions(({ context: c, enqueue, check }) => {
      if (check('discardsPartialsOnOverflow')) {
        for (const dev of c.onQueue) enqueue({ type: 'send', params: { to: c.faultParams[dev], type: 'DISCARD_PARTIAL', payload: {} } });
      }
      enqueue(assign({ pro: false }));
    }),
    pasidDrained: enqueueActions(({ context: c, event, enqueue }) => {
      if (event.type !== 'PASID_DRAINED') return;
      enqueue(assign({ draining: c.draining.filter((d) => !(d.dev === event.dev && d.pasid === event.pasid)) }));
      // Fence the fault parameter: it answers once every report made before it has returned.
      const to = c.onQueue.includes(event.dev) ? c.faultParams[event.dev] : c.drivers[event.dev];
      const type = c.onQueue.includes(event.dev) ? 'DRAIN_FENCE' : 'PASID_DRAINED';
      enqueue({ type: 'send', params: { to, type, payload: { pasid: event.pasid, driver: c.drivers[event.dev] } } });
    }),
  },
  guards: {
    /** "Drop Stop Marker message. No need for a response." (stop-marker-answered: false) */
    dropsStopMarkers: () => true,
    /** VT-d intel_prq_report(): private data sets LAST_PAGE (priv-data-not-answered: false). */
    reportsPrivDataAsLast: () => true,
    /** The PRO clear calls iopf_queue_discard_partial() (partials-kept-after-overflow: false). */
    discardsPartialsOnOverflow: () => true,
    /** PRO is cleared only when head == tail (overflow-cleared-too-early: always). */
    overflowClearable: ({ context }) => context.prq.length === 0,
    /**
     * The device (REMOVE_FROM_QUEUE's `dev`) may leave the iopf queue: none of its requests is
     * left in the page-request queue (removal-without-prq-drain: always).
     */
    deviceDrained: ({ context, event }) => event.type === 'REMOVE_FROM_QUEUE' && !context.prq.some((r) => r.dev === event.dev),
  },
}).createMachine({
  id: 'iopf.iommu',
  context: ({ input }) => ({
    id: input.id,
    depth: input.depth,
    prq: [],
    pro: false,
    released: [],
    removing: [],
    faultParams: input.faultParams,
    drivers: input.drivers,
    onQueue: Object.keys(input.faultParams),
    draining: [],
    overflows: 0,
    maxOccupancy: 0,
  }),
  initial: 'running',
  states: {
    running: {
      on: {
        PAGE_REQ: { actions: 'acceptRequest' },
        // Unrecoverable faults come through the fault recording registers, not the PRQ.
        DMA_FAULT: {
          actions: { type: 'send', params: ({ context, event }) => ({ to: context.faultParams[event.req.dev], type: 'REPORT_FAULT', payload: { fault: event.req } }) },
        },
        PRQ_SERVICE: { actions: 'serviceHead' },
        PRQ_CLEAR_OVERFLOW: { actions: 'clearOverflow' },
        PAGE_RESPONSE_CMD: {
          actions: { type: 'send', params: ({ event }) => ({ to: event.resp.dev, type: 'PAGE_RESPONSE', payload: { resp: event.resp } }) },
        },
        RELEASE_DEVICE: {
          actions: assign(({ context, event }) => ({ released: [...context.released, event.dev], removing: [...context.removing, event.dev] })),
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
        DEVICE_REMOVED: { actions: { type: 'send', params: ({ event }) => ({ to: event.dev, type: 'REMOVED', payload: {} }) } },
        // The device's stop completion travels behind its page requests (posted-write order).
        PASID_STOPPED: { actions: { type: 'send', params: ({ context, event }) => ({ to: context.drivers[event.dev], type: 'PASID_STOPPED', payload: {} }) } },
        DRAIN_PASID: { actions: assign(({ context, event }) => ({ draining: [...context.draining, { dev: event.dev, pasid: event.pasid }] })) },
        PASID_DRAINED: { actions: 'pasidDrained' },
      },
    },
  },
});

export const iommuKind = defineKind({
  kind: 'iopf.iommu',
  machine: iommuMachine,
  offers(snap) {
    const c = snap.context;
    const out = [];
    if (c.prq.length > 0) out.push({ event: { type: 'PRQ_SERVICE' } });
    if (c.pro && guard(snap, 'overflowClearable')) out.push({ event: { type: 'PRQ_CLEAR_OVERFLOW' } });
    for (const dev of c.removing) {
      // Drain: the device's requests already in the queue are reported before it is removed.
      const event = { type: 'REMOVE_FROM_QUEUE', dev };
      if (guard(snap, 'deviceDrained', event)) out.push({ event, label: dev });
    }
    for (const d of c.draining) {
      if (!c.prq.some((r) => r.dev === d.dev && r.pasid === d.pasid)) out.push({ event: { type: 'PASID_DRAINED', dev: d.dev, pasid: d.pasid }, label: `${d.dev}:${d.pasid}` });
    }
    return out;
  },
  accepts(snap, event) {
    // SMMU stall: a full event queue back-pressures the device instead of dropping the stall.
    const req = (event as { req?: PageRequest }).req;
    if (event.type === 'PAGE_REQ' && req?.transport === 'stall' && !snap.context.released.includes(req.dev)) {
      return snap.context.prq.length < snap.context.depth;
    }
    return true;
  },
  canonical: (snap) => withoutStatistics(snap, ['overflows', 'maxOccupancy']),
});
