/**
 * The iopf queue's workqueue: alloc_workqueue("iopf_queue/%s", WQ_UNBOUND, 0). Unordered:
 * works are handed to idle kworkers as they come, and the kworkers run concurrently, so groups
 * complete in any order (PRI ordering matters only within a group, which is already assembled).
 *
 * Locks: `pending` and `idle` are the pool's, under its pool->lock; each change is one step.
 */
import { assign, setup } from 'xstate';
import { effectActions } from '../effects.ts';
import { defineKind } from '../kind.ts';
import type { IopfGroup } from './types.ts';

export interface WorkqueueContext {
  id: string;
  pending: IopfGroup[];
  idle: string[];
  queued: number;
}

export interface WorkqueueInput {
  id: string;
  kworkers: string[];
}

type WorkqueueEvent =
  | { type: 'QUEUE_WORK'; group: IopfGroup }
  | { type: 'DISPATCH' }
  | { type: 'KWORKER_IDLE'; kworker: string };

export const workqueueMachine = setup({
  types: {
    context: {} as WorkqueueContext,
    events: {} as WorkqueueEvent,
    input: {} as WorkqueueInput,
  },
  actions: { ...effectActions },
}).createMachine({
  id: 'workqueue',
  context: ({ input }) => ({ id: input.id, pending: [], idle: [...input.kworkers], queued: 0 }),
  initial: 'running',
  states: {
    running: {
      on: {
        QUEUE_WORK: {
          actions: assign(({ context, event }) => ({ pending: [...context.pending, event.group], queued: context.queued + 1 })),
        },
        DISPATCH: {
          actions: [
            {
              type: 'send',
              params: ({ context }) => ({ to: context.idle[0], type: 'RUN_GROUP', payload: { group: context.pending[0] } }),
            },
            assign(({ context }) => ({ pending: context.pending.slice(1), idle: context.idle.slice(1) })),
          ],
        },
        KWORKER_IDLE: {
          actions: assign(({ context, event }) => ({ idle: [...context.idle, event.kworker] })),
        },
      },
    },
  },
});

export const workqueueKind = defineKind({
  kind: 'workqueue',
  machine: workqueueMachine,
  offers(snap) {
    const c = snap.context;
    return c.pending.length > 0 && c.idle.length > 0 ? [{ event: { type: 'DISPATCH' } }] : [];
  },
});
