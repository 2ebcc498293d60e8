/**
 * The VMM in userspace, serving an iommufd fault object: it reads page faults when woken,
 * answers each group by its cookie (now and then with a stale cookie, which the kernel must
 * reject), and once every device of its fault object has been detached, closes the object.
 */
import { assign, enqueueActions, setup } from 'xstate';
import { effectActions } from '../../../core/model/effects.ts';
import { defineKind } from '../../../core/model/kind.ts';
import { withoutStatistics } from './canonical.ts';
import type { RespCode } from './types.ts';

export interface VmmContext {
  id: string;
  fault: string;
  /** Wake-ups not yet consumed by a read. */
  notified: number;
  /** A read() in progress. */
  reading: boolean;
  /** Cookies read and not yet answered. */
  toAnswer: number[];
  devices: number;
  detached: number;
  written: number;
}

export interface VmmInput {
  id: string;
  fault: string;
  devices: number;
}

type VmmEvent =
  | { type: 'NOTIFY' }
  | { type: 'READ' }
  | { type: 'FAULTS'; cookie: number }
  | { type: 'READ_EMPTY' }
  | { type: 'READ_FAILED' }
  | { type: 'WRITE'; code?: RespCode; stale?: boolean }
  | { type: 'IDEV_DETACHED' }
  | { type: 'CLOSE' };

export const vmmMachine = setup({
  types: {
    context: {} as VmmContext,
    events: {} as VmmEvent,
    input: {} as VmmInput,
  },
  actions: {
    ...effectActions,
    write: enqueueActions(({ context: c, event, enqueue }) => {
      if (event.type !== 'WRITE') return;
      const [cookie, ...rest] = c.toAnswer;
      if (event.stale) {
        // A cookie the kernel never handed out (or already answered): must be rejected.
        enqueue({ type: 'send', params: { to: c.fault, type: 'WRITE', payload: { cookie: cookie + 1000, code: 'SUCCESS' } } });
        return;
      }
      enqueue({ type: 'send', params: { to: c.fault, type: 'WRITE', payload: { cookie, code: event.code ?? 'SUCCESS' } } });
      enqueue(assign({ toAnswer: rest, written: c.written + 1 }));
    }),
  },
}).createMachine({
  id: 'iopf.vmm',
  context: ({ input }) => ({ id: input.id, fault: input.fault, notified: 0, reading: false, toAnswer: [], devices: input.devices, detached: 0, written: 0 }),
  initial: 'serving',
  states: {
    serving: {
      on: {
        NOTIFY: { actions: assign({ notified: ({ context }) => context.notified + 1 }) },
        READ: { actions: [assign({ reading: true }), { type: 'send', params: ({ context }) => ({ to: context.fault, type: 'READ', payload: {} }) }] },
        FAULTS: { actions: assign(({ context, event }) => ({ reading: false, notified: context.notified - 1, toAnswer: [...context.toAnswer, event.cookie] })) },
        READ_EMPTY: { actions: assign(({ context }) => ({ reading: false, notified: context.notified - 1 })) },
        READ_FAILED: { actions: assign({ reading: false }) },
        WRITE: { actions: 'write' },
        IDEV_DETACHED: { actions: assign({ detached: ({ context }) => context.detached + 1 }) },
        CLOSE: { target: 'closed', actions: { type: 'send', params: ({ context }) => ({ to: context.fault, type: 'DESTROY', payload: {} }) } },
      },
    },
    closed: {},
  },
});

export const vmmKind = defineKind({
  kind: 'iopf.vmm',
  machine: vmmMachine,
  offers(snap) {
    const c = snap.context;
    if (snap.value !== 'serving') return [];
    const out = [];
    if (c.notified > 0 && !c.reading) out.push({ event: { type: 'READ' } });
    if (c.toAnswer.length > 0) out.push({ event: { type: 'WRITE' } });
    if (c.devices > 0 && c.detached === c.devices && !c.reading && c.toAnswer.length === 0) out.push({ event: { type: 'CLOSE' } });
    return out;
  },
  prepare(_snap, event, ports, self) {
    if (event.type !== 'WRITE') return event;
    const stale = ports.data.chance(`vmm:${self}:stale-cookie`, 0.1);
    const code: RespCode = ports.data.chance(`vmm:${self}:invalid`, 0.2) ? 'INVALID' : 'SUCCESS';
    return { ...event, stale, code };
  },
  canonical: (snap) => withoutStatistics(snap, ['written']),
});
