/**
 * A kworker running iommu_sva_handle_iopf() for one group: handle every fault in order with
 * iommu_sva_handle_mm() (errors are sticky: after the first non-SUCCESS the rest are skipped),
 * then answer the group once and free it (iopf_group_response + iopf_free_group, which run
 * on the fault parameter). Each handle_mm_fault step is one scheduler step; its memory access
 * is made by the runtime through the MemoryPort (prepare), its result carried in the event.
 *
 * With deferred=false a work may be a single partial handled ahead of its group (a prefault):
 * it is not answered, its result goes back to the fault parameter. A group skips the faults
 * already handled ahead, and starts failed when one of them failed.
 *
 * Ownership: the kworker owns `group` from RUN_GROUP until it hands it back in GROUP_DONE.
 * Each fault step dereferences group->attach_handle->domain (its mm): a heap `use`.
 */
import { assign, enqueueActions, setup } from 'xstate';
import { type FaultOptions, type FaultState, type FaultStatus, startFault } from '../../../kernel/mm/handleMmFault.ts';
import { MMAP_LOCK } from '../../../kernel/mm/plainMemory.ts';
import { MM, type MmState } from '../../../kernel/mm/state.ts';
import { effectActions } from '../../../core/model/effects.ts';
import { iopfObservation } from '../observations.ts';
import { defineKind, guard } from '../../../core/model/kind.ts';
import type { IopfGroup } from './types.ts';

export interface KworkerContext {
  id: string;
  wq: string;
  faultParams: Record<string, string>;
  group: IopfGroup | null;
  index: number;
  fault: FaultState | null;
  status: FaultStatus;
}

export interface KworkerInput {
  id: string;
  wq: string;
  faultParams: Record<string, string>;
}

type KworkerEvent =
  | { type: 'RUN_GROUP'; group: IopfGroup }
  | { type: 'FAULT_STEP'; next?: FaultState }
  | { type: 'RESPOND' };

export const kworkerMachine = setup({
  types: {
    context: {} as KworkerContext,
    events: {} as KworkerEvent,
    input: {} as KworkerInput,
  },
  actions: {
    ...effectActions,
    startGroup: assign(({ event }) => {
      if (event.type !== 'RUN_GROUP') return {};
      const g = event.group;
      if (g.preset) return { group: g, index: g.faults.length, status: g.preset as FaultStatus, fault: null };
      const index = firstToHandle(g, 0);
      const f = g.faults[index];
      return { group: g, index, status: 'SUCCESS' as FaultStatus, fault: f ? startFault(f.addr, f.perm) : null };
    }),
    advance: enqueueActions(({ context: c, event, enqueue }) => {
      if (event.type !== 'FAULT_STEP' || !event.next || !c.group) return;
      enqueue({ type: 'observe', params: iopfObservation('use', { obj: c.group.gid, by: `${c.id}:handle_mm_fault` }) });
      if (c.group.domain) enqueue({ type: 'observe', params: iopfObservation('use', { obj: c.group.domain, by: `${c.id}:iommu_sva_handle_mm` }) });
      const next = event.next;
      if (next.phase !== 'done') {
        enqueue(assign({ fault: next }));
        return;
      }
      const index = firstToHandle(c.group, c.index + 1);
      if (next.status !== 'SUCCESS' || index >= c.group.faults.length) {
        enqueue(assign({ fault: null, index, status: next.status }));
        return;
      }
      const f = c.group.faults[index];
      enqueue(assign({ fault: startFault(f.addr, f.perm), index }));
    }),
    respond: enqueueActions(({ context: c, enqueue }) => {
      if (!c.group) return;
      enqueue({ type: 'observe', params: iopfObservation('use', { obj: c.group.gid, by: `${c.id}:iopf_group_response` }) });
      const type = c.group.prefault ? 'PREFAULT_DONE' : 'GROUP_DONE';
      enqueue({ type: 'send', params: { to: c.faultParams[c.group.dev], type, payload: { group: c.group, status: c.status } } });
      enqueue({ type: 'send', params: { to: c.wq, type: 'KWORKER_IDLE', payload: { kworker: c.id } } });
      enqueue(assign({ group: null, fault: null, index: 0 }));
    }),
  },
  guards: {
    groupFinished: ({ context }) => context.fault === null,
    /** handle_mm_fault without mmap_read_lock (the fault-without-mmap-lock variant). */
    skipsMmapLock: () => false,
    /** The PTE installed without the page-table lock and its recheck (fault-install-without-ptl). */
    skipsPtl: () => false,
  },
}).createMachine({
  id: 'iopf.kworker',
  context: ({ input }) => ({
    id: input.id,
    wq: input.wq,
    faultParams: input.faultParams,
    group: null,
    index: 0,
    fault: null,
    status: 'SUCCESS',
  }),
  initial: 'idle',
  states: {
    idle: {
      on: { RUN_GROUP: { target: 'handling', actions: 'startGroup' } },
    },
    /** iommu_sva_handle_mm() for faults[index], one step at a time. */
    handling: {
      always: { guard: 'groupFinished', target: 'responding' },
      on: { FAULT_STEP: { actions: 'advance' } },
    },
    /** All faults handled (or the first error): answer the group once. */
    responding: {
      on: { RESPOND: { target: 'idle', actions: 'respond' } },
    },
  },
});

export const kworkerKind = defineKind({
  kind: 'iopf.kworker',
  machine: kworkerMachine,
  offers(snap, view) {
    const c = snap.context;
    if (snap.value === 'responding') return [{ event: { type: 'RESPOND' } }];
    if (snap.value === 'handling' && c.fault && view.shared<MmState>(MM).faults.canStep(c.id, c.fault, faultOptions(snap))) {
      return [{ event: { type: 'FAULT_STEP' }, label: c.fault.phase }];
    }
    return [];
  },
  prepare(snap, event, ports, self) {
    const c = snap.context;
    if (event.type !== 'FAULT_STEP' || !c.fault) return event;
    return { type: 'FAULT_STEP', next: ports.shared<MmState>(MM).faults.step(self, c.fault, faultOptions(snap)) };
  },
  footprint(snap, event) {
    const phase = snap.context.fault?.phase;
    if (event.type !== 'FAULT_STEP' || !phase) return {};
    // Taking mmap_lock for read (tested by offers) and dropping it; free mode's step runs them all.
    const takesLock = (phase === 'lock' || phase === 'unlock' || phase === 'running') && !guard(snap, 'skipsMmapLock');
    // The lookup only walks the VMA tree; the others change mm_users or the page table.
    return { locks: takesLock ? [MMAP_LOCK] : [], ...(phase === 'lookup' ? { reads: [MM] } : { writes: [MM] }) };
  },
});

/** How this kworker's handle_mm_fault runs: the lock-omission variants substitute these guards. */
function faultOptions(snap: Parameters<typeof guard>[0]): FaultOptions {
  return { skipMmapLock: guard(snap, 'skipsMmapLock'), skipPtl: guard(snap, 'skipsPtl') };
}

/** Index of the first fault at or after `from` not already handled ahead. */
function firstToHandle(g: IopfGroup, from: number): number {
  let i = from;
  while (i < g.faults.length && g.skip?.includes(g.faults[i].reqId)) i++;
  return i;
}
