/**
 * Free mode, main-thread side. A kworker's first FAULT_STEP hands the whole fault to its thread
 * (a JOB) and returns at once with the fault `running`; the thread runs every step with real,
 * blocking Atomics locks while the scheduler goes on with the other actors (the process's
 * munmap/mprotect among them, on this thread, against the same memory). The kworker's next
 * FAULT_STEP is enabled once the thread has finished and collects the result. When nothing else
 * can run the World waits for a thread (waitForProgress).
 *
 * Every memory event, from any thread, is stamped from the shared Atomics clock; history() gives
 * them in stamp order for the monitors. Which interleaving happens depends on real timing, so a
 * free run is not replayable step for step.
 */
import type { LockPort } from '../../../core/model/locks.ts';
import type { HistoryEvent } from '../../../core/model/executor.ts';
import { Prng } from '../../../core/prng.ts';
import type { Observation } from '../../../core/model/effects.ts';
import type { FaultRunner } from '../faultRunner.ts';
import type { FaultOptions, FaultState } from '../handleMmFault.ts';
import type { RunMemory } from '../runtime.ts';
import { waitWhile } from '../shared/atomicLocks.ts';
import { CANCEL, CLOCK, CTL_DONE, CTL_IDLE, CTL_JOB, DONE, MMAP, type MmShared, PTL } from '../shared/layout.ts';
import { SharedMemory } from '../shared/sharedMemory.ts';
import type { JobReply, JobRequest } from './protocol.ts';
import { SlotMap } from './slots.ts';

export class FreeFaults implements FaultRunner {
  private readonly inFlight = new Set<number>();
  private readonly seeds: Prng;

  constructor(
    private readonly sh: MmShared,
    private readonly slots: SlotMap,
    private readonly events: HistoryEvent[],
    seed: number,
    private readonly jitter: number,
  ) {
    this.seeds = new Prng(seed, 9);
  }

  canStep(who: string, st: FaultState): boolean {
    if (st.phase === 'running') return this.sh.ctl(this.slots.of(who)) === CTL_DONE;
    return st.phase !== 'done';
  }

  step(who: string, st: FaultState, opts: FaultOptions): FaultState {
    const slot = this.slots.of(who);
    if (st.phase === 'running') {
      const reply = this.collect(slot);
      if (reply.error) throw new Error(`${who} (thread slot ${slot}): ${reply.error}`);
      return reply.next!;
    }
    const req: JobRequest = { who, st, opts, seed: this.seeds.nextU32(), jitter: this.jitter };
    this.sh.writeBox(slot, req);
    this.sh.post(slot, CTL_JOB);
    this.inFlight.add(slot);
    return { ...st, phase: 'running' };
  }

  /** Block until some in-flight job is done; false if none is in flight. */
  waitAny(): boolean {
    if (this.inFlight.size === 0) return false;
    for (;;) {
      const seen = Atomics.load(this.sh.w, DONE);
      for (const s of this.inFlight) if (this.sh.ctl(s) === CTL_DONE) return true;
      waitWhile(this.sh, 0, DONE, seen, () => [...this.inFlight], () => `free-mode jobs in thread slot(s) ${[...this.inFlight].join(', ')}`, false);
    }
  }

  /** Cancel in-flight jobs and collect them (their events stay in the history). */
  settle(): void {
    if (this.inFlight.size === 0) return;
    const w = this.sh.w;
    Atomics.store(w, CANCEL, 1);
    Atomics.notify(w, MMAP);
    Atomics.notify(w, PTL);
    try {
      for (const s of [...this.inFlight]) {
        waitWhile(this.sh, 0, this.sh.ctlIndex(s), CTL_JOB, () => [s], () => `cancelling the job of thread slot ${s}`, false);
        this.collect(s);
      }
    } finally {
      Atomics.store(w, CANCEL, 0);
    }
  }

  private collect(slot: number): JobReply {
    const reply = this.sh.readBox<JobReply>(slot);
    this.sh.post(slot, CTL_IDLE);
    this.inFlight.delete(slot);
    this.events.push(...reply.events);
    return reply;
  }
}

export class FreeRun implements RunMemory {
  readonly mem: SharedMemory;
  readonly faults: FreeFaults;
  private readonly events: HistoryEvent[] = [];

  constructor(
    private readonly sh: MmShared,
    locks: LockPort,
    threads: number,
    seed: number,
    jitter: number,
  ) {
    // The lock table sees only the main thread's own mmap_lock operations (the process's): the
    // threads' are in the history.
    this.mem = new SharedMemory(sh, 0, { mirror: locks });
    this.mem.onLock = (e) => this.events.push({ s: this.stamp(), actor: e.by, lock: e });
    this.faults = new FreeFaults(sh, new SlotMap(threads), this.events, seed, jitter);
  }

  /** Every memory observation goes into the stamped history, not into the step. */
  divert(actor: string, o: Observation): boolean {
    this.events.push({ s: this.stamp(), actor, obs: o });
    return true;
  }

  waitForProgress(): boolean {
    return this.faults.waitAny();
  }

  history(): HistoryEvent[] {
    this.faults.settle();
    return [...this.events].sort((a, b) => a.s - b.s);
  }

  close(): void {
    // Drop the main thread's holds first: a cancelled job may be waiting for them.
    this.mem.releaseHeld();
    this.faults.settle();
  }

  private stamp(): number {
    return Atomics.add(this.sh.w, CLOCK, 1);
  }
}
