/**
 * struct iommu_fault_param of one device, with the io-pgfault.c paths that work on it:
 * iommu_report_device_fault() (partial list, group assembly per grpid, attach-handle lookup,
 * the domain's iopf_handler), iopf_group_response(), iopf_free_group(),
 * iopf_queue_discard_partial() and iopf_queue_remove_device(); plus the attach handles of the
 * device's PASIDs (SVA bond or iommufd HWPT), which the driver's unbind path detaches and
 * re-attaches.
 *
 * Locks and ownership, as documented in the kernel:
 *   partial   fault_param->lock
 *   pending   fault_param->lock  (fault_param->faults: groups whose response is still owed)
 *   users     refcount: 1 for the queue link (iopf_queue_add_device .. remove_device),
 *             1 per iopf_group (iommu_report_device_fault .. iopf_free_group)
 *   linked    queue->lock + dev->iommu->lock (param->lock)
 *   handles   the group's attach handles (iommu_attach_handle_get under the group mutex)
 * The report path drops fault_param->lock before calling the domain's iopf_handler; that
 * window is the `dispatching` state, a real scheduling point.
 */
import { assign, enqueueActions, setup } from 'xstate';
import { type Enqueue, effectActions } from '../../../core/model/effects.ts';
import { iopfObservation } from '../observations.ts';
import { defineKind } from '../../../core/model/kind.ts';
import { withoutStatistics } from './canonical.ts';
import { type IopfGroup, type PageRequest, type RespCode, domainName, responseFor } from './types.ts';

export interface PendingGroup {
  gid: string;
  last: PageRequest;
}

export interface AttachHandle {
  gen: number;
  handler: 'sva' | 'iommufd';
}

export interface FaultParamContext {
  id: string;
  dev: string;
  iommu: string;
  wq: string;
  iommufd: string;
  queueLock: string;
  paramLock: string;
  lock: string;
  /** List order: head first. list_add() puts a new partial at the head. */
  partial: PageRequest[];
  pending: PendingGroup[];
  users: number;
  linked: boolean;
  nextGroup: number;
  /** Group assembled by the report path, handler not yet called (lock dropped). */
  inflight: IopfGroup | null;
  /** Attach handles by PASID. */
  handles: Record<string, AttachHandle>;
  grouping: 'list' | 'map';
  /** false: handle each partial at once (the thread's "non-deferred handle_mm_fault"). */
  deferred: boolean;
  /** Results of partials handled ahead (deferred=false), by reqId. */
  prefaulted: Record<string, RespCode>;
  /** Partial entries examined while assembling groups (the cost the thread discusses). */
  lookupSteps: number;
}

export interface FaultParamInput {
  id: string;
  dev: string;
  iommu: string;
  wq: string;
  iommufd: string;
  handles: Record<string, AttachHandle>;
  grouping: 'list' | 'map';
  deferred: boolean;
}

type FaultParamEvent =
  | { type: 'REPORT_FAULT'; fault: PageRequest; allocFail?: boolean }
  | { type: 'CALL_HANDLER' }
  | { type: 'GROUP_DONE'; group: IopfGroup; status: RespCode }
  | { type: 'PREFAULT_DONE'; group: IopfGroup; status: RespCode }
  | { type: 'DISCARD_PARTIAL' }
  | { type: 'QUEUE_REMOVE_DEVICE' }
  | { type: 'DRAIN_FENCE'; pasid: number; driver: string }
  | { type: 'DETACH_HANDLE'; pasid: number; driver: string }
  | { type: 'ATTACH_HANDLE'; pasid: number; gen: number; handler: 'sva' | 'iommufd'; driver: string };

const objOf = (c: FaultParamContext) => `fault_param:${c.dev}`;

/** The named guards of this machine, as enqueueActions' `check` evaluates them. */
type Check = (guard: 'respondsOnlyIfPending' | 'responseCarriesPasid') => boolean;

/** iopf_group_response(): answer only if the group is still pending (not answered, not removed). */
function groupResponse(c: FaultParamContext, enqueue: Enqueue, check: Check, group: IopfGroup, code: RespCode, path: string): PendingGroup[] {
  enqueue({ type: 'lock', params: { lock: c.lock, path } });
  const isPending = c.pending.some((p) => p.gid === group.gid);
  const last = group.faults[group.faults.length - 1];
  if (isPending || !check('respondsOnlyIfPending')) {
    const resp = responseFor(last, code, { dropPasid: !check('responseCarriesPasid') });
    enqueue({ type: 'send', params: { to: c.iommu, type: 'PAGE_RESPONSE_CMD', payload: { resp } } });
  }
  enqueue({ type: 'unlock', params: { lock: c.lock, path } });
  return c.pending.filter((p) => p.gid !== group.gid);
}

/** Drop one reference on the fault parameter; the last one frees it (kfree_rcu). */
function putParam(c: FaultParamContext, enqueue: Enqueue, users: number, by: string): number {
  if (users - 1 === 0) enqueue({ type: 'observe', params: iopfObservation('free', { obj: objOf(c), by }) });
  return users - 1;
}

/** iopf_free_group(): free the partials and the group, then put the group's reference. */
function freeGroup(c: FaultParamContext, enqueue: Enqueue, group: IopfGroup, users: number): number {
  enqueue({ type: 'observe', params: iopfObservation('free', { obj: group.gid, by: 'iopf_free_group' }) });
  return putParam(c, enqueue, users, 'iopf_put_dev_fault_param');
}

/** Every path dereferences the fault parameter: the heap monitor sees each use. */
const useParam = {
  type: 'observe' as const,
  params: ({ context, event }: { context: FaultParamContext; event: { type: string } }) => iopfObservation('use', { obj: objOf(context), by: event.type }),
};

const E = (enqueue: unknown) => enqueue as Enqueue;

export const faultParamMachine = setup({
  types: {
    context: {} as FaultParamContext,
    events: {} as FaultParamEvent,
    input: {} as FaultParamInput,
  },
  actions: {
    ...effectActions,
    reportFault: enqueueActions(({ context: c, event, enqueue, check }) => {
      if (event.type !== 'REPORT_FAULT') return;
      const f = event.fault;
      if (!c.linked) {
        // WARN_ON(!iopf_param): the fault is dropped.
        enqueue({ type: 'observe', params: iopfObservation('report-nodev', { reqId: f.reqId }) });
        return;
      }
      if (f.kind !== 'page-req') {
        enqueue({ type: 'observe', params: iopfObservation('report-eopnotsupp', { reqId: f.reqId }) });
        return;
      }
      enqueue({ type: 'observe', params: iopfObservation('might-sleep', { path: 'kzalloc(GFP_KERNEL)' }) });
      if (!f.last) {
        if (event.allocFail) {
          // report_partial_fault(): kzalloc failed, the request is lost (dev_err).
          enqueue({ type: 'observe', params: iopfObservation('partial-lost', { reqId: f.reqId, dev: f.dev, grpid: f.grpid }) });
          return;
        }
        enqueue({ type: 'lock', params: { lock: c.lock, path: 'report_partial_fault' } });
        enqueue(assign({ partial: [f, ...c.partial] }));
        enqueue({ type: 'unlock', params: { lock: c.lock, path: 'report_partial_fault' } });
        const handle = c.handles[f.pasid];
        if (!c.deferred && handle?.handler === 'sva') {
          // Non-deferred: handle this partial now; the group answers later.
          const group: IopfGroup = { gid: `prefault:${f.reqId}`, dev: c.dev, faults: [f], abort: false, prefault: true, domain: domainName(c.dev, f.pasid, handle.gen) };
          enqueue({ type: 'observe', params: iopfObservation('alloc', { obj: group.gid }) });
          enqueue({ type: 'send', params: { to: c.wq, type: 'QUEUE_WORK', payload: { group } } });
          enqueue(assign({ users: c.users + 1 }));
        }
        return;
      }
      if (event.allocFail && !check('cleansUpPartialsOnAllocFailure')) {
        // The pre-fix -ENOMEM path: return before cleanup_partial; the driver's caller answers
        // the failed report INVALID (VT-d handle_bad_prq_event).
        enqueue({ type: 'send', params: { to: c.iommu, type: 'PAGE_RESPONSE_CMD', payload: { resp: responseFor(f, 'INVALID') } } });
        return;
      }
      // iopf_group_alloc(): on allocation failure the abort group on the stack is used.
      const gid = `group:${c.dev}#${c.nextGroup}`;
      const path = 'iopf_group_alloc';
      enqueue({ type: 'lock', params: { lock: c.lock, path } });
      const { moved, kept, examined } = collectPartials(c, f.grpid);
      const group: IopfGroup = { gid, dev: c.dev, faults: [...moved, f], abort: !!event.allocFail };
      if (!c.deferred) {
        group.skip = moved.filter((m) => c.prefaulted[m.reqId] === 'SUCCESS').map((m) => m.reqId);
        if (moved.some((m) => c.prefaulted[m.reqId] === 'INVALID')) group.preset = 'INVALID';
      }
      enqueue({ type: 'observe', params: iopfObservation('group-assembled', { gid, dev: c.dev, grpid: f.grpid, reqIds: group.faults.map((x) => x.reqId) }) });
      enqueue({ type: 'observe', params: iopfObservation('alloc', { obj: gid }) });
      enqueue(
        assign({
          partial: kept,
          pending: [...c.pending, { gid, last: f }],
          users: c.users + 1,
          nextGroup: c.nextGroup + 1,
          inflight: group,
          lookupSteps: c.lookupSteps + examined,
        }),
      );
      enqueue({ type: 'unlock', params: { lock: c.lock, path } });
    }),
    callHandler: enqueueActions(({ context: c, enqueue, check }) => {
      const group = c.inflight;
      if (!group) return;
      const last = group.faults[group.faults.length - 1];
      const handle = last.pasidValid ? c.handles[last.pasid] : undefined;
      if (!group.abort && handle) {
        const domain = domainName(c.dev, last.pasid, handle.gen);
        const bound: IopfGroup = { ...group, domain };
        enqueue({ type: 'observe', params: iopfObservation('attach-handle', { gid: group.gid, dev: c.dev, pasid: last.pasid, gen: handle.gen, bonds: group.faults.map((f) => f.bond) }) });
        enqueue({ type: 'observe', params: iopfObservation('use', { obj: domain, by: 'iommu_attach_handle_get' }) });
        if (handle.handler === 'sva') {
          // iommu_sva_iopf_handler(): queue_work(); the work owns the group now.
          enqueue({ type: 'send', params: { to: c.wq, type: 'QUEUE_WORK', payload: { group: bound } } });
        } else {
          // iommufd_fault_iopf_handler(): onto the fault object's deliver list for userspace.
          enqueue({ type: 'send', params: { to: c.iommufd, type: 'DELIVER', payload: { group: bound } } });
        }
        enqueue(assign({ inflight: null }));
        return;
      }
      if (!group.abort && !check('answersWithoutHandler')) {
        // No handler: the group is freed and nobody answers the device.
        const users = freeGroup(c, E(enqueue), group, c.users);
        enqueue(assign({ inflight: null, users, pending: c.pending.filter((p) => p.gid !== group.gid) }));
        return;
      }
      // err_abort: answer FAILURE for an abort group, INVALID when no handler is attached.
      const code: RespCode = group.abort ? 'FAILURE' : 'INVALID';
      const pending = groupResponse(c, E(enqueue), check, group, code, 'iommu_report_device_fault:err_abort');
      const users = freeGroup(c, E(enqueue), group, c.users);
      enqueue(assign({ inflight: null, users, pending }));
    }),
    groupDone: enqueueActions(({ context: c, event, enqueue, check }) => {
      if (event.type !== 'GROUP_DONE') return;
      const pending = groupResponse(c, E(enqueue), check, event.group, event.status, 'iopf_group_response');
      const users = freeGroup(c, E(enqueue), event.group, c.users);
      enqueue(assign({ pending, users }));
    }),
    prefaultDone: enqueueActions(({ context: c, event, enqueue }) => {
      if (event.type !== 'PREFAULT_DONE') return;
      const reqId = event.group.faults[0].reqId;
      const users = freeGroup(c, E(enqueue), event.group, c.users);
      enqueue(assign({ users, prefaulted: { ...c.prefaulted, [reqId]: event.status } }));
    }),
    discardPartial: enqueueActions(({ context: c, enqueue, check }) => {
      const path = 'iopf_queue_discard_partial';
      // Documented order: queue->lock, then each fault_param->lock.
      const order = check('discardTakesQueueLockFirst') ? [c.queueLock, c.lock] : [c.lock, c.queueLock];
      for (const l of order) enqueue({ type: 'lock', params: { lock: l, path } });
      if (c.partial.length > 0) {
        enqueue({ type: 'observe', params: iopfObservation('partial-discarded', { dev: c.dev, reqIds: c.partial.map((p) => p.reqId) }) });
      }
      enqueue(assign({ partial: [] }));
      for (const l of [...order].reverse()) enqueue({ type: 'unlock', params: { lock: l, path } });
    }),
    removeDevice: enqueueActions(({ context: c, enqueue, check }) => {
      const path = 'iopf_queue_remove_device';
      enqueue({ type: 'lock', params: { lock: c.queueLock, path } });
      enqueue({ type: 'lock', params: { lock: c.paramLock, path } });
      enqueue({ type: 'lock', params: { lock: c.lock, path } });
      if (c.partial.length > 0) {
        enqueue({ type: 'observe', params: iopfObservation('partial-discarded', { dev: c.dev, reqIds: c.partial.map((p) => p.reqId) }) });
      }
      // Before 0095bf83554f outstanding requests were not acknowledged here.
      const answer = check('removalAnswersPending');
      if (answer) {
        for (const p of c.pending) {
          const resp = responseFor(p.last, 'INVALID', { dropPasid: !check('responseCarriesPasid') });
          enqueue({ type: 'send', params: { to: c.iommu, type: 'PAGE_RESPONSE_CMD', payload: { resp } } });
        }
      }
      enqueue({ type: 'unlock', params: { lock: c.lock, path } });
      // Drop the reference owned by iopf_queue_add_device(); groups still hold theirs.
      let users = putParam(c, E(enqueue), c.users, path);
      if (!check('refcountsParam') && users > 0) {
        enqueue({ type: 'observe', params: iopfObservation('free', { obj: objOf(c), by: `${path} (kfree)` }) });
        users = 0;
      }
      enqueue(assign({ partial: [], pending: answer ? [] : c.pending, linked: false, users }));
      enqueue({ type: 'unlock', params: { lock: c.paramLock, path } });
      enqueue({ type: 'unlock', params: { lock: c.queueLock, path } });
      enqueue({ type: 'send', params: { to: c.iommu, type: 'DEVICE_REMOVED', payload: { dev: c.dev } } });
    }),
    detachHandle: enqueueActions(({ context: c, event, enqueue }) => {
      if (event.type !== 'DETACH_HANDLE') return;
      const h = c.handles[event.pasid];
      const handles = { ...c.handles };
      delete handles[event.pasid];
      // The domain (and with SVA the mm bond) goes away with its last attachment.
      if (h) enqueue({ type: 'observe', params: iopfObservation('free', { obj: domainName(c.dev, event.pasid, h.gen), by: 'iommu_detach_device_pasid' }) });
      enqueue(assign({ handles }));
      enqueue({ type: 'send', params: { to: event.driver, type: 'HANDLE_DETACHED', payload: {} } });
    }),
    attachHandle: enqueueActions(({ context: c, event, enqueue }) => {
      if (event.type !== 'ATTACH_HANDLE') return;
      enqueue({ type: 'observe', params: iopfObservation('alloc', { obj: domainName(c.dev, event.pasid, event.gen) }) });
      enqueue(assign({ handles: { ...c.handles, [event.pasid]: { gen: event.gen, handler: event.handler } } }));
      enqueue({ type: 'send', params: { to: event.driver, type: 'HANDLE_ATTACHED', payload: {} } });
    }),
  },
  guards: {
    dispatchingGroup: ({ context }) => context.inflight !== null,
    /** iopf_group_response() answers only a group still pending (response-after-removal: false). */
    respondsOnlyIfPending: () => true,
    /** IOMMU_PAGE_RESP_PASID_VALID when the request needs it (response-missing-pasid: false). */
    responseCarriesPasid: () => true,
    /** A failed group allocation still runs cleanup_partial (partial-leak-on-alloc-failure: false). */
    cleansUpPartialsOnAllocFailure: () => true,
    /** err_abort answers a group no handler takes (no-response-without-handler: false). */
    answersWithoutHandler: () => true,
    /** iopf_queue_discard_partial(): queue->lock, then fault_param->lock (discard-lock-inversion: false). */
    discardTakesQueueLockFirst: () => true,
    /** iopf_queue_remove_device() answers outstanding groups INVALID (removal-leaves-pending: false). */
    removalAnswersPending: () => true,
    /** The fault parameter is refcounted: removal only puts its reference (fault-param-freed-on-removal: false). */
    refcountsParam: () => true,
  },
}).createMachine({
  id: 'iopf.faultParam',
  context: ({ input }) => ({
    id: input.id,
    dev: input.dev,
    iommu: input.iommu,
    wq: input.wq,
    iommufd: input.iommufd,
    queueLock: 'queue->lock',
    paramLock: `${input.dev}:param->lock`,
    lock: `${input.dev}:fault_param->lock`,
    partial: [],
    pending: [],
    users: 1,
    linked: true,
    nextGroup: 0,
    inflight: null,
    handles: input.handles,
    grouping: input.grouping,
    deferred: input.deferred,
    prefaulted: {},
    lookupSteps: 0,
  }),
  initial: 'idle',
  on: {
    GROUP_DONE: { actions: [useParam, 'groupDone'] },
    PREFAULT_DONE: { actions: [useParam, 'prefaultDone'] },
    DISCARD_PARTIAL: { actions: [useParam, 'discardPartial'] },
    QUEUE_REMOVE_DEVICE: { actions: [useParam, 'removeDevice'] },
    DETACH_HANDLE: { actions: [useParam, 'detachHandle'] },
    ATTACH_HANDLE: { actions: [useParam, 'attachHandle'] },
  },
  states: {
    /** The page-request thread is not inside this device's report path. */
    idle: {
      on: {
        REPORT_FAULT: { actions: [useParam, 'reportFault'] },
        // Every report the thread made before the fence has returned, and queue_work() is
        // synchronous in the handler: so the fence follows the queued works down the same
        // channel, and the handler's queue (workqueue or iommufd) answers the driver.
        DRAIN_FENCE: {
          actions: [
            useParam,
            {
              type: 'send',
              params: ({ context, event }) => ({
                to: context.handles[event.pasid]?.handler === 'iommufd' ? context.iommufd : context.wq,
                type: 'FENCE',
                payload: { driver: event.driver },
              }),
            },
          ],
        },
      },
      always: { guard: 'dispatchingGroup', target: 'dispatching' },
    },
    /** fault_param->lock dropped; the thread is about to look up the handle and call the handler. */
    dispatching: {
      on: {
        CALL_HANDLER: { target: 'idle', actions: [useParam, 'callHandler'] },
      },
    },
  },
});

/**
 * Take the partials of `grpid` out of the list. `list` walks the whole partial list as the
 * kernel does; `map` is the per-grpid index the thread proposes (rb-tree / xarray), which
 * examines only that group's entries. Both keep arrival order (oldest first).
 */
function collectPartials(c: FaultParamContext, grpid: number): { moved: PageRequest[]; kept: PageRequest[]; examined: number } {
  const moved: PageRequest[] = [];
  const kept: PageRequest[] = [];
  for (const p of c.partial) {
    // list_move() to the head of group->faults: walking newest-first yields oldest-first.
    if (p.grpid === grpid) moved.unshift(p);
    else kept.push(p);
  }
  const examined = c.grouping === 'map' ? moved.length : c.partial.length;
  return { moved, kept, examined };
}

export const faultParamKind = defineKind({
  kind: 'iopf.faultParam',
  machine: faultParamMachine,
  offers(snap) {
    return snap.value === 'dispatching' ? [{ event: { type: 'CALL_HANDLER' } }] : [];
  },
  accepts(snap, event, view) {
    const c = snap.context;
    // The page-request thread is blocked in our handler window: it cannot report again yet.
    if (event.type === 'REPORT_FAULT' || event.type === 'DRAIN_FENCE') return snap.value === 'idle' && view.canTake(c.lock);
    if (event.type === 'QUEUE_REMOVE_DEVICE') return view.canTake(c.queueLock) && view.canTake(c.paramLock) && view.canTake(c.lock);
    if (event.type === 'DISCARD_PARTIAL') return view.canTake(c.queueLock) && view.canTake(c.lock);
    return view.canTake(c.lock);
  },
  prepare(snap, event, ports, self) {
    if (event.type !== 'REPORT_FAULT') return event;
    const f = (event as unknown as { fault: PageRequest }).fault;
    if (f.kind !== 'page-req' || !snap.context.linked) return event;
    const what = f.last ? 'group' : 'partial';
    const allocFail = ports.data.fault(`kzalloc:${self}:${what}`, Number(ports.params.allocFailRate));
    return { ...event, allocFail };
  },
  footprint(snap, event) {
    const c = snap.context;
    if (event.type === 'QUEUE_REMOVE_DEVICE') return { locks: [c.queueLock, c.paramLock, c.lock] };
    if (event.type === 'DISCARD_PARTIAL') return { locks: [c.queueLock, c.lock] };
    // Every other path takes fault_param->lock, or waits for it to be free (accepts).
    return { locks: [c.lock] };
  },
  canonical: (snap) => withoutStatistics(snap, ['lookupSteps']),
});
