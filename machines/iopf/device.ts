/**
 * A PCIe function with PRI. It walks a script of page requests in order, never has more than
 * `limit` requests outstanding (the PRI Outstanding Page Request Allocation), never reuses a
 * group index (grpid) while a group with that index awaits its response, and frees the credits
 * of a whole group when its Page Group Response arrives. It may be hot-unplugged partway.
 *
 * Context ownership: all fields are the device's own; the IOMMU only sees what is sent.
 */
import { assign, enqueueActions, setup } from 'xstate';
import { effectActions } from '../effects.ts';
import { defineKind } from '../kind.ts';
import { type PageRequest, type PageResponse, needsResponse } from './types.ts';

export interface AwaitedGroup {
  grpid: number;
  /** Requests of the group sent so far (credits returned on response). */
  count: number;
  /** Whether its last request has been sent. */
  closed: boolean;
}

export interface DeviceContext {
  id: string;
  iommu: string;
  script: PageRequest[];
  next: number;
  limit: number;
  outstanding: number;
  groups: AwaitedGroup[];
  /** Unplug becomes possible once `next` reaches this index (null: never unplugged). */
  unplugAfter: number | null;
  responses: number;
  failures: number;
}

export interface DeviceInput {
  id: string;
  iommu: string;
  script: PageRequest[];
  limit: number;
  unplugAfter: number | null;
}

type DeviceEvent =
  | { type: 'ISSUE' }
  | { type: 'UNPLUG' }
  | { type: 'PAGE_RESPONSE'; resp: PageResponse }
  | { type: 'REMOVED' };

export const deviceMachine = setup({
  types: {
    context: {} as DeviceContext,
    events: {} as DeviceEvent,
    input: {} as DeviceInput,
  },
  actions: {
    ...effectActions,
    issueNext: enqueueActions(({ context, enqueue }) => {
      const req = context.script[context.next];
      enqueue({
        type: 'send',
        params: { to: context.iommu, type: req.kind === 'page-req' ? 'PAGE_REQ' : 'DMA_FAULT', payload: { req } },
      });
      enqueue(assign({ next: context.next + 1 }));
      if (req.kind !== 'page-req') return;
      const groups = context.groups.map((g) => ({ ...g }));
      let g = groups.find((x) => x.grpid === req.grpid && !x.closed);
      if (!g) {
        g = { grpid: req.grpid, count: 0, closed: false };
        groups.push(g);
      }
      g.count++;
      if (needsResponse(req)) g.closed = true;
      enqueue(assign({ outstanding: context.outstanding + 1, groups }));
    }),
    takeResponse: assign(({ context, event }) => {
      if (event.type !== 'PAGE_RESPONSE') return {};
      const g = context.groups.find((x) => x.grpid === event.resp.grpid && x.closed);
      return {
        groups: context.groups.filter((x) => x !== g),
        outstanding: context.outstanding - (g?.count ?? 0),
        responses: context.responses + 1,
        failures: context.failures + (event.resp.code === 'FAILURE' ? 1 : 0),
      };
    }),
  },
  guards: {
    /** PCIe: a Response Failure disables PRI on the function until it is reset. */
    isFailure: ({ event }) => event.type === 'PAGE_RESPONSE' && event.resp.code === 'FAILURE',
  },
}).createMachine({
  id: 'device',
  context: ({ input }) => ({
    id: input.id,
    iommu: input.iommu,
    script: input.script,
    next: 0,
    limit: input.limit,
    outstanding: 0,
    groups: [],
    unplugAfter: input.unplugAfter,
    responses: 0,
    failures: 0,
  }),
  initial: 'active',
  states: {
    active: {
      on: {
        ISSUE: { actions: 'issueNext' },
        PAGE_RESPONSE: [
          { guard: 'isFailure', target: 'priDisabled', actions: 'takeResponse' },
          { actions: 'takeResponse' },
        ],
        UNPLUG: {
          target: 'unplugging',
          actions: { type: 'send', params: ({ context }) => ({ to: context.iommu, type: 'RELEASE_DEVICE', payload: { dev: context.id } }) },
        },
      },
    },
    /** Response Failure received: the function issues no more page requests. */
    priDisabled: {
      on: {
        PAGE_RESPONSE: { actions: 'takeResponse' },
        UNPLUG: {
          target: 'unplugging',
          actions: { type: 'send', params: ({ context }) => ({ to: context.iommu, type: 'RELEASE_DEVICE', payload: { dev: context.id } }) },
        },
      },
    },
    /** Driver remove in progress: outstanding groups are still answered (INVALID) by the kernel. */
    unplugging: {
      on: {
        PAGE_RESPONSE: { actions: 'takeResponse' },
        REMOVED: { target: 'removed' },
      },
    },
    /** iopf_queue_remove_device() has returned and PRI is off: nothing may reach the device now. */
    removed: {
      on: {
        PAGE_RESPONSE: { actions: { type: 'observe', params: ({ event }) => ({ what: 'response-after-removal', resp: (event as { resp: PageResponse }).resp }) } },
      },
    },
  },
});

export const deviceKind = defineKind({
  kind: 'device',
  machine: deviceMachine,
  offers(snap) {
    const c = snap.context;
    const out = [];
    if (snap.value === 'active' && c.next < c.script.length && c.outstanding < c.limit) {
      const req = c.script[c.next];
      // PCIe PRI: a group index may not be reused while a group with that index is outstanding.
      const busy = c.groups.some((g) => g.grpid === req.grpid && g.closed);
      if (req.kind !== 'page-req' || !busy) out.push({ event: { type: 'ISSUE' } });
    }
    if ((snap.value === 'active' || snap.value === 'priDisabled') && c.unplugAfter !== null && c.next >= c.unplugAfter) {
      out.push({ event: { type: 'UNPLUG' } });
    }
    return out;
  },
});
