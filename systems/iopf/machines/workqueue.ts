/**
 * The iopf queue's workqueue: alloc_workqueue("iopf_queue/%s", WQ_UNBOUND, 0). Unordered:
 * works are handed to idle kworkers as they come, and the kworkers run concurrently, so groups
 * complete in any order (PRI ordering matters only within a group, which is already assembled).
 * flush_workqueue() (iopf_queue_flush_dev) returns once no work is queued or running.
 *
 * Locks: `pending`, `idle` and `flushers` are the pool's, under its pool->lock; each change is
 * one step.
 */
import { assign, enqueueActions, setup } from 'xstate';
import { effectActions } from '../../../core/model/effects.ts';
import { defineKind } from '../../../core/model/kind.ts';
import { withoutStatistics } from './canonical.ts';
import type { IopfGroup } from './types.ts';

export interface WorkqueueContext {
  id: string;
  kworkers: string[];
  pending: IopfGroup[];
  idle: string[];
  /** Callers of flush_workqueue() waiting for it to return. */
  flushers: string[];
  queued: number;
}

export interface WorkqueueInput {
  id: string;
  kworkers: string[];
}

type WorkqueueEvent =
  | { type: 'QUEUE_WORK'; group: IopfGroup }
  | { type: 'DISPATCH' }
  | { type: 'KWORKER_IDLE'; kworker: string }
  | { type: 'FLUSH'; from: string }
  | { type: 'FLUSH_DONE' }
  | { type: 'FENCE'; driver: string };

export const workqueueMachine = setup({
  types: {
    context: {} as WorkqueueContext,
    events: {} as WorkqueueEvent,
    input: {} as WorkqueueInput,
  },
  actions: { ...effectActions },
}).createMachine({
  id: 'iopf.workqueue',
  context: ({ input }) => ({ id: input.id, kworkers: input.kworkers, pending: [], idle: [...input.kworkers], flushers: [], queued: 0 }),
  initial: 'running',
  states: {
    running: {
      on: {
        QUEUE_WORK: {
          actions: assign(({ context, event }) => ({ pending: [...context.pending, event.group], queued: context.queued + 1 })),
        },
        DISPATCH: {
          actions: [
            { type: 'send', params: ({ context }) => ({ to: context.idle[0], type: 'RUN_GROUP', payload: { group: context.pending[0] } }) },
            assign(({ context }) => ({ pending: context.pending.slice(1), idle: context.idle.slice(1) })),
          ],
        },
        KWORKER_IDLE: { actions: assign(({ context, event }) => ({ idle: [...context.idle, event.kworker] })) },
        FLUSH: { actions: assign(({ context, event }) => ({ flushers: [...context.flushers, event.from] })) },
        // Every work queued before the fence is on the queue now (see the fault parameter's drain).
        FENCE: { actions: { type: 'send', params: ({ event }) => ({ to: event.driver, type: 'PASID_DRAINED', payload: {} }) } },
        FLUSH_DONE: {
          actions: enqueueActions(({ context, enqueue }) => {
            for (const f of context.flushers) enqueue({ type: 'send', params: { to: f, type: 'FLUSHED', payload: {} } });
            enqueue(assign({ flushers: [] }));
          }),
        },
      },
    },
  },
});

export const workqueueKind = defineKind({
  kind: 'iopf.workqueue',
  machine: workqueueMachine,
  offers(snap) {
    const c = snap.context;
    const out = [];
    if (c.pending.length > 0 && c.idle.length > 0) out.push({ event: { type: 'DISPATCH' } });
    if (c.flushers.length > 0 && c.pending.length === 0 && c.idle.length === c.kworkers.length) out.push({ event: { type: 'FLUSH_DONE' } });
    return out;
  },
  canonical: (snap) => withoutStatistics(snap, ['queued']),
});
