/**
 * tce.rcu: the RCU callback of a released region (call_rcu(&mem->rcu, mm_iommu_free),
 * arch/powerpc/mm/book3s64/iommu_api.c). It runs once the grace period has elapsed: every thread
 * that was inside an RCU read-side section at call_rcu time has left it. mm_iommu_free →
 * mm_iommu_do_free → mm_iommu_unpin: SetPageDirty if the hpas DIRTY bit is set (nothing sets it
 * in 6.17), unpin_user_page() each page, vfree, kfree.
 */
import { assign, setup } from 'xstate';
import { effectActions } from '../../../core/model/effects.ts';
import { defineKind, type ActorKind } from '../../../core/model/kind.ts';
import type { PreregState } from '../state/prereg.ts';
import type { MemState } from '../state/mem.ts';

interface RcuCtx {
  id: string;
  ran: number;
}

type RcuEvent = { type: 'CALLBACK'; cb?: number };

const machine = setup({
  types: { context: {} as RcuCtx, events: {} as RcuEvent, input: {} as { id: string } },
  actions: { ...effectActions, count: assign(({ context }) => ({ ran: context.ran + 1 })) },
}).createMachine({
  id: 'tce.rcu',
  context: ({ input }) => ({ id: input.id, ran: 0 }),
  initial: 'idle',
  states: { idle: { on: { CALLBACK: { actions: 'count' } } } },
});

export const rcuKind: ActorKind = defineKind({
  kind: 'tce.rcu',
  machine,
  offers(_snap, view) {
    const cb = view.shared<PreregState>('tce.prereg').readyCallback();
    return cb ? [{ event: { type: 'CALLBACK' }, label: cb.region }] : [];
  },
  prepare(_snap, _event, ports) {
    const P = ports.shared<PreregState>('tce.prereg');
    const M = ports.shared<MemState>('tce.mem');
    const cb = P.readyCallback();
    if (!cb) throw new Error('RCU callback step with none ready');
    const r = P.runCallback(cb.id, 'mm_iommu_free');
    if (!r.devmem) for (const pfn of r.pfns) M.unpin(pfn, `region:${r.id}`, 'page');
    return { type: 'CALLBACK', cb: cb.id };
  },
  footprint() {
    return { reads: ['tce.prereg', 'tce.mem'], writes: ['tce.prereg', 'tce.mem'] };
  },
  canonical(snap) {
    return snap.value;
  },
}) as ActorKind;
