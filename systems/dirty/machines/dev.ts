/**
 * `dirty.dev`: a DMA master behind the SMMU, walking `workload.dev` (WRITE p / READ p, and a point
 * where it waits for tracking so that most of its writes land while the migration runs). Hardware:
 * TLB lookups, table walks and the HTTU dirty update. Path: ../paths/dma.ts.
 */
import { DEV_BEHAVIOURS, type DevLocal, devNext, devStep } from '../paths/dma.ts';
import type { DevOp } from '../types.ts';
import { stateOfPhase, threadKind } from './thread.ts';

export const devKind = threadKind<DevLocal>({
  kind: 'dirty.dev',
  behaviours: DEV_BEHAVIOURS,
  chart: {
    wait: { description: 'the guest is quiet until tracking is on', on: { DMA_WAIT: ['wait', 'dma', 'fin'] } },
    dma: {
      description: 'one access: TLB lookup, or a table walk one level per step; HTTU sets the dirty state',
      on: { DMA_LOOKUP: ['dma', 'wait', 'fin'], DMA_WALK: ['dma', 'wait', 'fin'] },
    },
    fin: { on: { DEV_DONE: ['done'] } },
    done: { on: {} },
  },
  step: devStep,
  stateOf: stateOfPhase,
  constants: ['id', 'ops'],
  statistics: ['fills'],
});

export function devInput(id: string, ops: DevOp[]): DevLocal {
  const l: DevLocal = { id, phase: '', next: null, waits: null, ops, i: 0, walk: null, fills: 0 };
  devNext(l);
  return l;
}
