/**
 * The mm as a piece of a scenario's shared state (core/model/shared.ts): the address space
 * (VMAs, PTEs, mm_users) behind a MemoryPort, and the FaultRunner that says where a kworker's
 * handle_mm_fault steps run. Its executor (inline, turnstile or free threads) plugs in here:
 * `mmShared` builds the run's memory against the exploration's runtime.
 *
 * Lock: mmap_lock is in the run's lock table (declared by the memory); the page-table lock is
 * taken and dropped inside one step.
 */
import type { SharedEnv, SharedSetup } from '../../core/model/scenario.ts';
import type { SharedPort, SharedState } from '../../core/model/shared.ts';
import type { FaultRunner } from './faultRunner.ts';
import type { MemoryPort, MemoryState, VmaSpec } from './memory.ts';
import { PlainMemory } from './plainMemory.ts';
import { asMmRuntime } from './runtime.ts';

export const MM = 'mm';

export class MmState implements SharedState {
  readonly name = MM;

  constructor(
    readonly mem: MemoryPort,
    readonly faults: FaultRunner,
  ) {}

  connect(port: SharedPort): void {
    this.mem.observer = (o) => port.observe(o);
  }

  /** The initial address space as `vma-alloc` observations, so monitors start from it. */
  announce(): void {
    this.mem.announce();
  }

  snapshot(): unknown {
    return this.plain().save();
  }

  restore(s: unknown): void {
    this.plain().load(s as ReturnType<PlainMemory['save']>);
  }

  /** VMAs, PTEs and mm_users; the allocation counters (next VMA id, next pfn) are left out. */
  canonical(): unknown {
    const d: Partial<MemoryState> = { ...this.mem.describe() };
    delete d.nextVmaId;
    delete d.nextPfn;
    return d;
  }

  view(): unknown {
    const d = this.mem.describe();
    return { vmas: d.vmas, ptes: d.ptes, users: d.users };
  }

  private plain(): PlainMemory {
    if (!(this.mem instanceof PlainMemory)) throw new Error('the mm can be snapshot and restored in inline mode only (its threads hold the shared memory)');
    return this.mem;
  }
}

/** The mm of one run over an initial address space, in the exploration's execution mode. */
export function mmShared(env: SharedEnv, vmas: VmaSpec[]): SharedSetup {
  const run = asMmRuntime(env.runtime).attach(new PlainMemory(env.locks, vmas), env.locks, env.seed);
  return { states: [new MmState(run.mem, run.faults)], exec: run };
}
