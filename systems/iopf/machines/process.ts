/**
 * The user process whose mm the SVA domain is bound to. While faults are in flight it changes
 * its address space: munmap, mprotect, mmap. Each operation takes mmap_lock for write (waiting
 * for readers such as a kworker inside handle_mm_fault), applies, and unlocks: three steps, so
 * the write lock is visibly held across a scheduling point. Between operations it thinks for a
 * while on the virtual clock (an xstate `after` delay the scheduler fires as a timer step).
 */
import { assign, setup } from 'xstate';
import { MMAP_LOCK } from '../../../kernel/mm/plainMemory.ts';
import { MM, type MmState } from '../../../kernel/mm/state.ts';
import { effectActions } from '../../../core/model/effects.ts';
import { defineKind } from '../../../core/model/kind.ts';

export interface MmOp {
  op: 'munmap' | 'mprotect' | 'mmap';
  start: number;
  len: number;
  prot: number;
}

export interface ProcessContext {
  id: string;
  ops: MmOp[];
  index: number;
}

export interface ProcessInput {
  id: string;
  ops: MmOp[];
}

type ProcessEvent = { type: 'MMAP_WRITE_LOCK' } | { type: 'APPLY' } | { type: 'MMAP_WRITE_UNLOCK' };

export const THINK_TIME = 2;

export const processMachine = setup({
  types: {
    context: {} as ProcessContext,
    events: {} as ProcessEvent,
    input: {} as ProcessInput,
  },
  actions: { ...effectActions },
  guards: {
    moreOps: ({ context }) => context.index < context.ops.length,
  },
  delays: { think: THINK_TIME },
}).createMachine({
  id: 'iopf.process',
  context: ({ input }) => ({ id: input.id, ops: input.ops, index: 0 }),
  initial: 'thinking',
  states: {
    thinking: {
      always: { guard: ({ context }) => context.index >= context.ops.length, target: 'done' },
      after: { think: 'ready' },
    },
    ready: {
      on: { MMAP_WRITE_LOCK: 'locked' },
    },
    /** mmap_lock held for write. */
    locked: {
      on: { APPLY: 'applied' },
    },
    applied: {
      on: { MMAP_WRITE_UNLOCK: { target: 'thinking', actions: assign(({ context }) => ({ index: context.index + 1 })) } },
    },
    done: { type: 'final' },
  },
});

export const processKind = defineKind({
  kind: 'iopf.process',
  machine: processMachine,
  offers(snap, view) {
    switch (snap.value) {
      case 'ready':
        return view.shared<MmState>(MM).mem.canLockMmap('write') ? [{ event: { type: 'MMAP_WRITE_LOCK' } }] : [];
      case 'locked':
        return [{ event: { type: 'APPLY' } }];
      case 'applied':
        return [{ event: { type: 'MMAP_WRITE_UNLOCK' } }];
      default:
        return [];
    }
  },
  prepare(snap, event, ports, self) {
    const c = snap.context;
    const mem = ports.shared<MmState>(MM).mem;
    if (event.type === 'MMAP_WRITE_LOCK') mem.lockMmap(self, 'write');
    if (event.type === 'MMAP_WRITE_UNLOCK') mem.unlockMmap(self);
    if (event.type === 'APPLY') {
      const op = c.ops[c.index];
      if (op.op === 'munmap') mem.unmap(op.start, op.len);
      else if (op.op === 'mprotect') mem.protect(op.start, op.len, op.prot);
      else mem.map(op.start, op.len, op.prot);
      return { ...event, op } as typeof event;
    }
    return event;
  },
  footprint(_snap, event) {
    switch (event.type) {
      case 'MMAP_WRITE_LOCK':
      case 'MMAP_WRITE_UNLOCK':
        return { locks: [MMAP_LOCK], reads: [MM] };
      // munmap/mprotect/mmap change the VMA tree and the page table.
      case 'APPLY':
        return { writes: [MM] };
      default:
        return {};
    }
  },
});
