/**
 * A user thread touching its own memory (the pages it maps for DMA) with the CPU: a write dirties
 * the page's cache line, a read fills a clean one. It takes no kernel lock: this is what races the
 * kernel's flush-then-map and unmap-then-flush windows.
 */
import { defineKind } from '../../../core/model/kind.ts';
import { SYSTEM } from '../types.ts';
import type { CpuOp } from './ops.ts';
import { type StepTable, type ThreadContext, buildThread, threadKind } from './stepper.ts';

export interface CpuContext extends ThreadContext {
  ops: CpuOp[];
  opIdx: number;
  /** uptr page -> page frame (immutable; a copy of the iommufd state's, so the step touches only the cache). */
  userPfn: number[];
}

type C = CpuContext;

const steps: StepTable<C> = {
  idle: {
    description: 'the next load or store (random: page and direction drawn)',
    ready: (c) => c.opIdx < c.ops.length,
    uses: 'cache',
    to: ['idle'],
    run(c, k) {
      const o = c.ops[c.opIdx];
      let uptr: number;
      let write: boolean;
      if (o.op === 'random') {
        uptr = k.data.int(`cpu:${c.id}:page`, c.userPfn.length);
        write = k.data.chance(`cpu:${c.id}:write`, 0.5);
      } else {
        uptr = o.uptr;
        write = o.op === 'write';
      }
      const pfn = c.userPfn[uptr];
      if (write) k.cache.cpuWrite(pfn, { by: c.id, uptr });
      else k.cache.cpuRead(pfn, { by: c.id, uptr });
      return { to: 'idle', set: { opIdx: c.opIdx + 1 } };
    },
  },
};

export const cpuMachine = buildThread<C>({
  id: `${SYSTEM}.cpu`,
  steps,
  initial: 'idle',
  context: (input) => {
    const i = input as { id: string; ops: CpuOp[]; userPfn: number[] };
    return { id: i.id, ops: i.ops, opIdx: 0, userPfn: i.userPfn, held: [], opName: '', opStart: 0, l: {} };
  },
});

export const cpuKind = defineKind(threadKind<C>({ kind: `${SYSTEM}.cpu`, machine: cpuMachine, steps }) as Parameters<typeof defineKind>[0]);
