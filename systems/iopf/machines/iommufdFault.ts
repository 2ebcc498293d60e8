/**
 * The iommufd fault object (drivers/iommu/iommufd/fault.c): page faults of devices attached to
 * an HWPT with a fault object go to userspace (the VMM) instead of an mm.
 *
 *   iopf handler (page-request thread): add the group to `deliver` under fault->lock, wake readers
 *   read():  under fault->mutex, take the first group off `deliver` (fault->lock), give it a cookie
 *            in the `response` xarray, copy it to the user buffer (may fault: a separate step,
 *            mutex held); on -EFAULT put it back at the head
 *   write(): under fault->mutex, look the cookie up in `response`; unknown cookies are rejected
 *            (-EINVAL); a known one is answered (iopf_group_response) and freed
 *   detach (iommufd_auto_response_faults) and destroy: answer INVALID to everything outstanding
 *            for the device (detach) or at all (destroy), then destroy the xarray and the mutex
 *
 * Locks: `deliver` under fault->lock (a spinlock, so the handler never waits for userspace);
 * `response` and the read/write/detach paths under fault->mutex.
 */
import { assign, enqueueActions, setup } from 'xstate';
import { type Enqueue, effectActions } from '../../../core/model/effects.ts';
import { iopfObservation } from '../observations.ts';
import { defineKind, guard } from '../../../core/model/kind.ts';
import { withoutStatistics } from './canonical.ts';
import type { IopfGroup, RespCode } from './types.ts';

export const FAULT_MUTEX = 'fault->mutex';
export const FAULT_SPINLOCK = 'fault->lock';
const VMM_THREAD = 'vmm';
const PRQ_THREAD = 'prq-thread';

export interface IommufdFaultContext {
  id: string;
  vmm: string;
  faultParams: Record<string, string>;
  deliver: IopfGroup[];
  /** The response xarray: cookie -> group read by userspace, not yet answered. */
  response: Record<string, IopfGroup>;
  nextCookie: number;
  /** The read() between taking a group and copying it out. */
  reading: { cookie: number; group: IopfGroup } | null;
  delivered: number;
  rejected: number;
}

export interface IommufdFaultInput {
  id: string;
  vmm: string;
  faultParams: Record<string, string>;
}

type IommufdFaultEvent =
  | { type: 'DELIVER'; group: IopfGroup }
  | { type: 'READ' }
  | { type: 'COPY_TO_USER'; efault?: boolean }
  | { type: 'WRITE'; cookie: number; code: RespCode }
  | { type: 'AUTO_RESPONSE'; dev: string; driver: string }
  | { type: 'IDEV_DETACHED'; dev: string }
  | { type: 'DESTROY' }
  | { type: 'FENCE'; driver: string };

const E = (enqueue: unknown) => enqueue as Enqueue;

function lock(enqueue: Enqueue, l: string, path: string, thread: string, irq = false) {
  enqueue({ type: 'lock', params: { lock: l, path, thread, ...(irq ? { irq } : {}) } });
}
function unlock(enqueue: Enqueue, l: string, path: string, thread: string) {
  enqueue({ type: 'unlock', params: { lock: l, path, thread } });
}

/** The lock the iopf handler adds to the deliver list under (see the guard deliverUnderSpinlock). */
function deliverLock(underSpinlock: boolean): string {
  return underSpinlock ? FAULT_SPINLOCK : FAULT_MUTEX;
}

/** iopf_group_response(group, INVALID) + iopf_free_group(): both run on the fault parameter. */
function answerInvalid(c: IommufdFaultContext, enqueue: Enqueue, groups: IopfGroup[]) {
  for (const g of groups) enqueue({ type: 'send', params: { to: c.faultParams[g.dev], type: 'GROUP_DONE', payload: { group: g, status: 'INVALID' } } });
}

export const iommufdFaultMachine = setup({
  types: {
    context: {} as IommufdFaultContext,
    events: {} as IommufdFaultEvent,
    input: {} as IommufdFaultInput,
  },
  actions: {
    ...effectActions,
    deliver: enqueueActions(({ context: c, event, enqueue, check }) => {
      if (event.type !== 'DELIVER') return;
      const path = 'iommufd_fault_iopf_handler';
      const l = deliverLock(check('deliverUnderSpinlock'));
      lock(E(enqueue), l, path, PRQ_THREAD, true);
      enqueue(assign({ deliver: [...c.deliver, event.group], delivered: c.delivered + 1 }));
      unlock(E(enqueue), l, path, PRQ_THREAD);
      enqueue({ type: 'send', params: { to: c.vmm, type: 'NOTIFY', payload: {} } });
    }),
    startRead: enqueueActions(({ context: c, enqueue }) => {
      const path = 'iommufd_fault_fops_read';
      lock(E(enqueue), FAULT_MUTEX, path, VMM_THREAD);
      lock(E(enqueue), FAULT_SPINLOCK, 'iommufd_fault_deliver_fetch', VMM_THREAD);
      const [group, ...rest] = c.deliver;
      unlock(E(enqueue), FAULT_SPINLOCK, 'iommufd_fault_deliver_fetch', VMM_THREAD);
      if (!group) {
        unlock(E(enqueue), FAULT_MUTEX, path, VMM_THREAD);
        enqueue({ type: 'send', params: { to: c.vmm, type: 'READ_EMPTY', payload: {} } });
        return;
      }
      enqueue({ type: 'observe', params: iopfObservation('might-sleep', { path: 'xa_alloc(GFP_KERNEL)', thread: VMM_THREAD }) });
      const cookie = c.nextCookie;
      enqueue(assign({ deliver: rest, response: { ...c.response, [cookie]: group }, nextCookie: cookie + 1, reading: { cookie, group } }));
    }),
    copyOut: enqueueActions(({ context: c, event, enqueue }) => {
      if (event.type !== 'COPY_TO_USER' || !c.reading) return;
      const { cookie, group } = c.reading;
      enqueue({ type: 'observe', params: iopfObservation('might-fault', { path: 'copy_to_user', thread: VMM_THREAD }) });
      if (event.efault) {
        // -EFAULT: xa_erase() and put the group back at the head of the deliver list.
        const response = { ...c.response };
        delete response[cookie];
        lock(E(enqueue), FAULT_SPINLOCK, 'iommufd_fault_deliver_restore', VMM_THREAD);
        enqueue(assign({ response, deliver: [group, ...c.deliver], reading: null }));
        unlock(E(enqueue), FAULT_SPINLOCK, 'iommufd_fault_deliver_restore', VMM_THREAD);
        enqueue({ type: 'send', params: { to: c.vmm, type: 'READ_FAILED', payload: {} } });
      } else {
        enqueue({ type: 'send', params: { to: c.vmm, type: 'FAULTS', payload: { cookie, dev: group.dev, reqIds: group.faults.map((f) => f.reqId) } } });
        enqueue(assign({ reading: null }));
      }
      unlock(E(enqueue), FAULT_MUTEX, 'iommufd_fault_fops_read', VMM_THREAD);
    }),
    write: enqueueActions(({ context: c, event, enqueue }) => {
      if (event.type !== 'WRITE') return;
      const path = 'iommufd_fault_fops_write';
      lock(E(enqueue), FAULT_MUTEX, path, VMM_THREAD);
      enqueue({ type: 'observe', params: iopfObservation('might-fault', { path: 'copy_from_user', thread: VMM_THREAD }) });
      const group = c.response[event.cookie];
      if (!group) {
        enqueue({ type: 'observe', params: iopfObservation('write-rejected', { cookie: event.cookie }) });
        enqueue(assign({ rejected: c.rejected + 1 }));
      } else {
        const response = { ...c.response };
        delete response[event.cookie];
        enqueue(assign({ response }));
        enqueue({ type: 'send', params: { to: c.faultParams[group.dev], type: 'GROUP_DONE', payload: { group, status: event.code } } });
      }
      unlock(E(enqueue), FAULT_MUTEX, path, VMM_THREAD);
    }),
    autoResponse: enqueueActions(({ context: c, event, enqueue }) => {
      if (event.type !== 'AUTO_RESPONSE') return;
      const path = 'iommufd_auto_response_faults';
      lock(E(enqueue), FAULT_MUTEX, path, event.driver);
      lock(E(enqueue), FAULT_SPINLOCK, path, event.driver);
      const mine = c.deliver.filter((g) => g.dev === event.dev);
      unlock(E(enqueue), FAULT_SPINLOCK, path, event.driver);
      const answered = Object.entries(c.response).filter(([, g]) => g.dev === event.dev);
      answerInvalid(c, E(enqueue), [...mine, ...answered.map(([, g]) => g)]);
      const response = Object.fromEntries(Object.entries(c.response).filter(([, g]) => g.dev !== event.dev));
      enqueue(assign({ deliver: c.deliver.filter((g) => g.dev !== event.dev), response }));
      unlock(E(enqueue), FAULT_MUTEX, path, event.driver);
      enqueue({ type: 'send', params: { to: event.driver, type: 'AUTO_RESPONDED', payload: {} } });
    }),
    destroy: enqueueActions(({ context: c, enqueue, check }) => {
      // The object's refcount is zero: no other thread can be here, no lock is needed.
      const skipResponse = !check('destroyReleasesResponses');
      const table = Object.values(c.response);
      enqueue({
        type: 'observe',
        params: iopfObservation('destroy', { owner: c.id, holds: ['fault->response (xarray)', 'fault->mutex', ...c.deliver.map((g) => g.gid), ...table.map((g) => g.gid)] }),
      });
      answerInvalid(c, E(enqueue), skipResponse ? c.deliver : [...c.deliver, ...table]);
      for (const g of skipResponse ? c.deliver : [...c.deliver, ...table]) enqueue({ type: 'observe', params: iopfObservation('release', { obj: g.gid }) });
      if (!skipResponse) {
        enqueue({ type: 'observe', params: iopfObservation('release', { obj: 'fault->response (xarray)' }) });
        enqueue({ type: 'observe', params: iopfObservation('release', { obj: 'fault->mutex' }) });
      }
      enqueue(assign({ deliver: [], response: skipResponse ? c.response : {} }));
    }),
  },
  guards: {
    /**
     * The deliver list is under fault->lock, a spinlock (iommufd-deliver-under-mutex: false, the
     * list under fault->mutex as before 3d49020a327c, which read() holds across copy_to_user).
     */
    deliverUnderSpinlock: () => true,
    /** Destroy answers and erases the response xarray and destroys the mutex (iommufd-destroy-skips-response: false). */
    destroyReleasesResponses: () => true,
  },
}).createMachine({
  id: 'iopf.iommufdFault',
  context: ({ input }) => ({
    id: input.id,
    vmm: input.vmm,
    faultParams: input.faultParams,
    deliver: [],
    response: {},
    nextCookie: 1,
    reading: null,
    delivered: 0,
    rejected: 0,
  }),
  initial: 'idle',
  states: {
    idle: {
      on: {
        DELIVER: { actions: 'deliver' },
        READ: [{ guard: ({ context }) => context.deliver.length > 0, target: 'copying', actions: 'startRead' }, { actions: 'startRead' }],
        WRITE: { actions: 'write' },
        AUTO_RESPONSE: { actions: 'autoResponse' },
        IDEV_DETACHED: { actions: { type: 'send', params: ({ context, event }) => ({ to: context.vmm, type: 'IDEV_DETACHED', payload: { dev: event.dev } }) } },
        DESTROY: { target: 'destroyed', actions: 'destroy' },
        // Every group delivered before the drain fence is on the deliver list now.
        FENCE: { actions: { type: 'send', params: ({ event }) => ({ to: event.driver, type: 'PASID_DRAINED', payload: {} }) } },
      },
    },
    /** read() holds fault->mutex while it copies the group to the user buffer. */
    copying: {
      on: {
        DELIVER: { actions: 'deliver' },
        COPY_TO_USER: { target: 'idle', actions: 'copyOut' },
        // Every group delivered before the drain fence is on the deliver list now.
        FENCE: { actions: { type: 'send', params: ({ event }) => ({ to: event.driver, type: 'PASID_DRAINED', payload: {} }) } },
        IDEV_DETACHED: { actions: { type: 'send', params: ({ context, event }) => ({ to: context.vmm, type: 'IDEV_DETACHED', payload: { dev: event.dev } }) } },
      },
    },
    destroyed: {
      // Anything reaching a destroyed fault object touches freed memory.
      on: { '*': { actions: { type: 'observe', params: ({ context, event }) => iopfObservation('use', { obj: `${context.id}`, by: event.type }) } } },
      entry: { type: 'observe', params: ({ context }) => iopfObservation('free', { obj: `${context.id}`, by: 'iommufd_fault_destroy' }) },
    },
  },
});

export const iommufdFaultKind = defineKind({
  kind: 'iopf.iommufdFault',
  machine: iommufdFaultMachine,
  offers(snap) {
    return snap.value === 'copying' ? [{ event: { type: 'COPY_TO_USER' } }] : [];
  },
  accepts(snap, event, view) {
    if (event.type === 'DELIVER') return view.canTake(deliverLock(guard(snap, 'deliverUnderSpinlock')));
    if (event.type === 'IDEV_DETACHED' || event.type === 'FENCE') return true;
    // read, write, auto-response and destroy serialize on fault->mutex.
    return snap.value !== 'copying' && view.canTake(FAULT_MUTEX);
  },
  prepare(_snap, event, ports, self) {
    if (event.type !== 'COPY_TO_USER') return event;
    return { ...event, efault: ports.data.fault(`copy_to_user:${self}`, Number(ports.params.userFaultRate)) };
  },
  footprint(snap, event) {
    switch (event.type) {
      case 'DELIVER':
        return { locks: [deliverLock(guard(snap, 'deliverUnderSpinlock'))] };
      case 'IDEV_DETACHED':
      case 'FENCE':
        return {};
      // read() fetches from the deliver list under the mutex; the copy drops the mutex and, on
      // -EFAULT, puts the group back under the spinlock; auto-response takes both.
      case 'READ':
      case 'COPY_TO_USER':
      case 'AUTO_RESPONSE':
        return { locks: [FAULT_MUTEX, FAULT_SPINLOCK] };
      // write() and destroy (and anything reaching a destroyed object) wait for the mutex.
      default:
        return { locks: [FAULT_MUTEX] };
    }
  },
  canonical: (snap) => withoutStatistics(snap, ['delivered', 'rejected']),
});
