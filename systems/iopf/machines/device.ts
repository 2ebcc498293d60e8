/**
 * A device issuing page requests: a PCIe function with PRI, or a platform device behind an
 * SMMU that stalls (transport 'stall': each fault is its own group, grpid is the stall tag).
 *
 * It walks a script of requests in order, never has more than `limit` requests outstanding (the
 * PRI Outstanding Page Request Allocation), never reuses a group index while that group awaits
 * responses, and frees the credits of a group when the response to its last request arrives.
 * A VT-d private-data request is answered on its own too. A PRI Response Failure disables PRI.
 *
 * PASID stop (the driver's unbind): the device finishes the groups it has started, then either
 * waits for every outstanding response ('wait') or sends a Stop Marker ('marker'), and reports
 * the stop through the IOMMU (posted-write ordering: after all its page requests). It resumes
 * with the next binding of the PASID. It may be hot-unplugged, except in the middle of a stop.
 *
 * Context ownership: all fields are the device's own; the IOMMU only sees what is sent.
 */
import { assign, enqueueActions, setup } from 'xstate';
import { type Enqueue, effectActions } from '../../../core/model/effects.ts';
import { defineKind } from '../../../core/model/kind.ts';
import { withoutStatistics } from './canonical.ts';
import { type PageRequest, type PageResponse, needsResponse } from './types.ts';

export interface AwaitedGroup {
  grpid: number;
  /** Requests of the group sent so far (credits returned with the last response). */
  count: number;
  /** Responses still owed: private-data requests and the last request. */
  owed: number;
  /** Whether its last request has been sent. */
  closed: boolean;
}

export interface DeviceContext {
  id: string;
  iommu: string;
  driver: string;
  pasid: number;
  script: PageRequest[];
  next: number;
  limit: number;
  outstanding: number;
  groups: AwaitedGroup[];
  /** Unplug becomes possible once `next` reaches this index (null: never unplugged). */
  unplugAfter: number | null;
  stopMode: 'wait' | 'marker';
  bond: number;
  /** A Response Failure disabled PRI (stays off across a PASID stop and resume). */
  priOff: boolean;
  responses: number;
  failures: number;
  markers: number;
}

export interface DeviceInput {
  id: string;
  iommu: string;
  driver: string;
  pasid: number;
  script: PageRequest[];
  limit: number;
  unplugAfter: number | null;
  stopMode: 'wait' | 'marker';
}

type DeviceEvent =
  | { type: 'ISSUE' }
  | { type: 'UNPLUG' }
  | { type: 'PAGE_RESPONSE'; resp: PageResponse }
  | { type: 'STOP_PASID' }
  | { type: 'STOP_DONE' }
  | { type: 'RESUME'; bond: number }
  | { type: 'REMOVED' };

/** Index of the next request to issue: in order, but while stopping only started groups go on. */
export function nextIndex(c: DeviceContext, stopping: boolean): number {
  if (!stopping) return c.next < c.script.length ? c.next : -1;
  for (let i = c.next; i < c.script.length; i++) {
    const r = c.script[i];
    if (r.kind === 'page-req' && c.groups.some((g) => g.grpid === r.grpid && !g.closed)) return i;
  }
  return -1;
}

/** Send the next request (see nextIndex); returns the context that accounts for it. */
function issue(c: DeviceContext, enqueue: Enqueue, stopping: boolean): Partial<DeviceContext> {
  const at = nextIndex(c, stopping);
  const script = [...c.script];
  // Bring the chosen request forward: the ones skipped while stopping stay for after the resume.
  const [picked] = script.splice(at, 1);
  script.splice(c.next, 0, picked);
  const req: PageRequest = { ...picked, bond: c.bond };
  enqueue({ type: 'send', params: { to: c.iommu, type: req.kind === 'unrecoverable' ? 'DMA_FAULT' : 'PAGE_REQ', payload: { req } } });
  const issued = { next: c.next + 1, script };
  if (req.kind !== 'page-req') return issued;
  const groups = c.groups.map((g) => ({ ...g }));
  let g = groups.find((x) => x.grpid === req.grpid && !x.closed);
  if (!g) {
    g = { grpid: req.grpid, count: 0, owed: 0, closed: false };
    groups.push(g);
  }
  g.count++;
  if (needsResponse(req)) g.owed++;
  if (req.last) g.closed = true;
  return { ...issued, outstanding: c.outstanding + 1, groups };
}

const sendTo = (to: (c: DeviceContext) => string, type: string) => ({
  type: 'send' as const,
  params: ({ context }: { context: DeviceContext }) => ({ to: to(context), type, payload: { dev: context.id } }),
});
const release = sendTo((c) => c.iommu, 'RELEASE_DEVICE');
const stopFailed = sendTo((c) => c.driver, 'STOP_FAILED');
// The stop completion goes through the IOMMU, behind the device's page requests.
const reportStopped = sendTo((c) => c.iommu, 'PASID_STOPPED');

export const deviceMachine = setup({
  types: {
    context: {} as DeviceContext,
    events: {} as DeviceEvent,
    input: {} as DeviceInput,
  },
  actions: {
    ...effectActions,
    issueNext: enqueueActions(({ context, enqueue }) => enqueue(assign(issue(context, enqueue as unknown as Enqueue, false)))),
    issueWhileStopping: enqueueActions(({ context, enqueue }) => enqueue(assign(issue(context, enqueue as unknown as Enqueue, true)))),
    takeResponse: assign(({ context, event }) => {
      if (event.type !== 'PAGE_RESPONSE') return {};
      // Answers come in order within a group: the oldest owed answer is this one.
      const g = context.groups.find((x) => x.grpid === event.resp.grpid && x.owed > 0);
      const done = g && g.closed && g.owed === 1;
      return {
        groups: done ? context.groups.filter((x) => x !== g) : context.groups.map((x) => (x === g ? { ...x, owed: x.owed - 1 } : x)),
        outstanding: context.outstanding - (done ? g.count : 0),
        responses: context.responses + 1,
        failures: context.failures + (event.resp.code === 'FAILURE' ? 1 : 0),
      };
    }),
  },
  guards: {
    /** PCIe: a Response Failure disables PRI on the function until it is reset (not for stalls). */
    disablesPri: ({ event }) => event.type === 'PAGE_RESPONSE' && event.resp.code === 'FAILURE' && event.resp.resume === undefined,
  },
}).createMachine({
  id: 'iopf.device',
  context: ({ input }) => ({
    id: input.id,
    iommu: input.iommu,
    driver: input.driver,
    pasid: input.pasid,
    script: input.script,
    next: 0,
    limit: input.limit,
    outstanding: 0,
    groups: [],
    unplugAfter: input.unplugAfter,
    stopMode: input.stopMode,
    bond: 0,
    priOff: false,
    responses: 0,
    failures: 0,
    markers: 0,
  }),
  initial: 'active',
  states: {
    active: {
      on: {
        ISSUE: { actions: 'issueNext' },
        PAGE_RESPONSE: [{ guard: 'disablesPri', target: 'priDisabled', actions: ['takeResponse', assign({ priOff: true })] }, { actions: 'takeResponse' }],
        UNPLUG: { target: 'unplugging', actions: release },
        STOP_PASID: 'stopping',
      },
    },
    /** Response Failure received: the function issues no more page requests. */
    priDisabled: {
      on: {
        PAGE_RESPONSE: { actions: 'takeResponse' },
        UNPLUG: { target: 'unplugging', actions: release },
        STOP_PASID: { target: 'stopped', actions: reportStopped },
      },
    },
    /** PASID stop requested: finish started groups, then wait for answers or send a Stop Marker. */
    stopping: {
      on: {
        ISSUE: { actions: 'issueWhileStopping' },
        PAGE_RESPONSE: { actions: 'takeResponse' },
        STOP_DONE: {
          target: 'stopped',
          actions: enqueueActions(({ context: c, enqueue }) => {
            if (c.stopMode === 'marker') {
              const marker: PageRequest = {
                reqId: `${c.id}#stop${c.markers}`,
                dev: c.id,
                kind: 'stop-marker',
                transport: 'pri',
                bond: c.bond,
                pasid: c.pasid,
                pasidValid: true,
                grpid: 0,
                addr: 0,
                perm: 0,
                last: true,
                privData: false,
                needsPasid: false,
              };
              enqueue({ type: 'send', params: { to: c.iommu, type: 'PAGE_REQ', payload: { req: marker } } });
              enqueue(assign({ markers: c.markers + 1 }));
            }
            enqueue(reportStopped);
          }),
        },
      },
    },
    /** Stopped: waiting for the driver to rebind the PASID. */
    stopped: {
      on: {
        PAGE_RESPONSE: { actions: 'takeResponse' },
        RESUME: [
          { guard: ({ context }) => context.priOff, target: 'priDisabled', actions: assign({ bond: ({ event }) => event.bond }) },
          { target: 'active', actions: assign({ bond: ({ event }) => event.bond }) },
        ],
      },
    },
    /** Driver remove in progress: outstanding groups are still answered (INVALID) by the kernel. */
    unplugging: {
      on: {
        PAGE_RESPONSE: { actions: 'takeResponse' },
        REMOVED: { target: 'removed' },
        STOP_PASID: { actions: stopFailed },
      },
    },
    /** iopf_queue_remove_device() has returned and PRI is off. */
    removed: {
      on: {
        STOP_PASID: { actions: stopFailed },
      },
    },
  },
});

export const deviceKind = defineKind({
  kind: 'iopf.device',
  machine: deviceMachine,
  offers(snap) {
    const c = snap.context;
    const out = [];
    const stopping = snap.value === 'stopping';
    if ((snap.value === 'active' || stopping) && c.outstanding < c.limit) {
      const at = nextIndex(c, stopping);
      const req = at >= 0 ? c.script[at] : undefined;
      // PCIe PRI: a group index may not be reused while a group with that index is outstanding.
      const busy = req && c.groups.some((g) => g.grpid === req.grpid && g.closed);
      if (req && (req.kind !== 'page-req' || !busy)) out.push({ event: { type: 'ISSUE' } });
    }
    if (stopping && nextIndex(c, true) < 0 && (c.stopMode === 'marker' || c.groups.length === 0)) {
      out.push({ event: { type: 'STOP_DONE' } });
    }
    if ((snap.value === 'active' || snap.value === 'priDisabled') && c.unplugAfter !== null && c.next >= c.unplugAfter) {
      out.push({ event: { type: 'UNPLUG' } });
    }
    return out;
  },
  // `markers` also numbers the Stop Markers' reqIds: a name, like the mm's next VMA id.
  canonical: (snap) => withoutStatistics(snap, ['responses', 'failures', 'markers']),
});
