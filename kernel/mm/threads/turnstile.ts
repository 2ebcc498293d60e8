/**
 * Turnstile mode, main-thread side. The scheduler still picks every step; when it picks a
 * kworker's FAULT_STEP, the kworker's thread is granted its turn (the request goes in the slot's
 * mailbox, the turn word is set and notified) and the main thread Atomics.wait's until the thread
 * posts DONE, so World.execute stays synchronous. The thread's mmap_lock operations are then
 * recorded in the run's lock table and its observations filed under the step, in the order they
 * happened: the trace is byte for byte inline mode's.
 */
import type { LockPort } from '../../../core/model/locks.ts';
import type { Observation } from '../../../core/model/effects.ts';
import type { FaultRunner } from '../faultRunner.ts';
import { type FaultOptions, type FaultState, canStep } from '../handleMmFault.ts';
import type { MemoryPort } from '../memory.ts';
import { MMAP_LOCK } from '../plainMemory.ts';
import type { RunMemory } from '../runtime.ts';
import { waitWhile } from '../shared/atomicLocks.ts';
import { CTL_IDLE, CTL_STEP, type MmShared } from '../shared/layout.ts';
import { SharedMemory } from '../shared/sharedMemory.ts';
import type { StepReply, StepRequest } from './protocol.ts';
import { SlotMap } from './slots.ts';

export class TurnstileFaults implements FaultRunner {
  constructor(
    private readonly sh: MmShared,
    private readonly mem: MemoryPort,
    private readonly locks: LockPort,
    private readonly slots: SlotMap,
  ) {}

  canStep(_who: string, st: FaultState, opts: FaultOptions): boolean {
    // Every thread is parked, so the shared words are stable while the scheduler looks at them.
    return canStep(this.mem, st, opts);
  }

  step(who: string, st: FaultState, opts: FaultOptions): FaultState {
    const slot = this.slots.of(who);
    const req: StepRequest = { who, st, opts };
    this.sh.writeBox(slot, req);
    this.sh.post(slot, CTL_STEP);
    waitWhile(this.sh, 0, this.sh.ctlIndex(slot), CTL_STEP, () => [slot], () => `${who}'s turn in thread slot ${slot}`, false);
    const reply = this.sh.readBox<StepReply>(slot);
    this.sh.post(slot, CTL_IDLE);
    if ('error' in reply) throw new Error(`${who} (thread slot ${slot}): ${reply.error}`);
    for (const l of reply.locks) {
      if (l.op === 'acquire') this.locks.acquire(l.lock, who, l.path, l.mode);
      else this.locks.release(l.lock, who, l.path);
    }
    for (const o of reply.obs) this.mem.observer?.(o);
    return reply.next;
  }
}

export class TurnstileRun implements RunMemory {
  readonly mem: SharedMemory;
  readonly faults: TurnstileFaults;

  constructor(sh: MmShared, locks: LockPort, threads: number) {
    this.mem = new SharedMemory(sh, 0, { mirror: locks, checkMirror: true });
    this.faults = new TurnstileFaults(sh, this.mem, locks, new SlotMap(threads));
  }

  close(): void {
    // Threads are parked between turns; only the main thread's own holds need dropping.
    this.mem.releaseHeld();
  }
}
