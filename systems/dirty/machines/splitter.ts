/**
 * `dirty.splitter`: the seed's block split (iommu_split_block) as a thread: inside
 * SET_DIRTY_TRACKING(1) for the VMM (splitWhen=enable, a fenced synchronous call: SPLIT_REQ,
 * SPLIT_DONE), or in the background after it (splitWhen=background). Path: ../paths/split.ts.
 */
import { SPLIT_BEHAVIOURS, type SplitLocal, splitIdle, splitStep } from '../paths/split.ts';
import { threadKind } from './thread.ts';

const STEPS = ['SPLIT_BEGIN', 'SPLIT_WALK', 'SPLIT_REFUSE', 'SPLIT_ALLOC', 'SPLIT_FILL', 'SPLIT_NT', 'SPLIT_FLUSH_WALK', 'SPLIT_INSTALL', 'SPLIT_TLBI', 'SPLIT_FLUSH_ALL'];

export const splitterKind = threadKind<SplitLocal>({
  kind: 'dirty.splitter',
  behaviours: SPLIT_BEHAVIOURS,
  chart: {
    idle: { description: 'waiting for a split request', on: { SPLIT_REQ: ['split'] } },
    split: {
      description: 'iommu_split_block over every mapped area: walk, GFP_ATOMIC alloc, fill, (BBML1: nT, flush_walk), install, flush',
      on: { ...Object.fromEntries(STEPS.map((s) => [s, ['split']])), SPLIT_END: ['idle'] },
    },
  },
  step: splitStep,
  stateOf: (l) => (l.phase === 'idle' ? 'idle' : 'split'),
  constants: ['id'],
  statistics: ['n'],
});

export function splitterInput(id: string): SplitLocal {
  const l: SplitLocal = {
    id,
    phase: 'idle',
    next: null,
    waits: null,
    n: 0,
    op: '',
    thread: '',
    reply: '',
    held: [],
    areas: [],
    ai: 0,
    chunks: [],
    ci: 0,
    got: 0,
    requested: 0,
    split: 0,
    calls: [],
    ds: null,
    unflushed: 0,
    short: false,
  };
  splitIdle(l);
  return l;
}
