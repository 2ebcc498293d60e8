/**
 * A kworker thread (piscina worker entry). Its one task lasts the whole exploration: park on the
 * slot's turn word, and when the main thread posts
 * - STEP (turnstile): run ONE handle_mm_fault step against the shared memory, put the new
 *   FaultState, the step's observations and its mmap_lock operations in the mailbox, post DONE;
 * - JOB (free): run the whole fault with real, blocking locks and no turns, stamping every memory
 *   event from the shared clock; before each step spin a seeded number of times to vary the
 *   interleaving;
 * - QUIT: return.
 * The idle wait is bounded only to beat the heartbeat the liveness checks read.
 */
import { threadId } from 'node:worker_threads';
import { Prng } from '../../../core/prng.ts';
import type { LockEvent } from '../../../core/model/locks.ts';
import type { HistoryEvent } from '../../../core/model/executor.ts';
import type { Observation } from '../../../core/model/effects.ts';
import { step } from '../handleMmFault.ts';
import { MMAP_LOCK } from '../plainMemory.ts';
import { CancelledError, WAIT_CHUNK_MS } from '../shared/atomicLocks.ts';
import { CLOCK, CTL_DONE, CTL_JOB, CTL_QUIT, CTL_STEP, DONE, MmShared } from '../shared/layout.ts';
import { SharedMemory } from '../shared/sharedMemory.ts';
import type { JobReply, JobRequest, StepReply, StepRequest, ThreadTask } from './protocol.ts';

export default function faultThread(task: ThreadTask): string {
  const sh = new MmShared(task.sab);
  const slot = task.slot;
  const mem = new SharedMemory(sh, slot);
  const ctl = sh.ctlIndex(slot);
  sh.setThreadId(slot, threadId);
  // First heartbeat: the main thread waits for it before it grants any turn.
  sh.beat(slot);
  Atomics.notify(sh.w, sh.beatIndex(slot));
  for (;;) {
    const c = Atomics.load(sh.w, ctl);
    if (c === CTL_STEP) {
      sh.writeBox(slot, serveStep(mem, sh.readBox<StepRequest>(slot)));
      sh.post(slot, CTL_DONE);
    } else if (c === CTL_JOB) {
      const reply = serveJob(sh, mem, sh.readBox<JobRequest>(slot));
      sh.writeBox(slot, reply);
      sh.post(slot, CTL_DONE);
      Atomics.add(sh.w, DONE, 1);
      Atomics.notify(sh.w, DONE);
    } else if (c === CTL_QUIT) {
      return 'quit';
    } else {
      Atomics.wait(sh.w, ctl, c, WAIT_CHUNK_MS);
      sh.beat(slot);
    }
  }
}

function serveStep(mem: SharedMemory, req: StepRequest): StepReply {
  const obs: Observation[] = [];
  const locks: LockEvent[] = [];
  mem.observer = (o) => obs.push(o);
  // Only mmap_lock is in the run's lock table (the page-table lock never outlives a step).
  mem.onLock = (e) => {
    if (e.lock === MMAP_LOCK) locks.push(e);
  };
  try {
    return { next: step(mem, req.st, req.who, req.opts), obs, locks };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function serveJob(sh: MmShared, mem: SharedMemory, req: JobRequest): JobReply {
  const events: HistoryEvent[] = [];
  const stamp = () => Atomics.add(sh.w, CLOCK, 1);
  mem.observer = (o) => events.push({ s: stamp(), actor: req.who, obs: o });
  mem.onLock = (e) => events.push({ s: stamp(), actor: req.who, lock: e });
  const prng = new Prng(req.seed, 11);
  let st = req.st;
  try {
    while (st.phase !== 'done') {
      spin(sh, prng.int(req.jitter + 1));
      if (sh.cancelled()) throw new CancelledError('run cancelled');
      st = step(mem, st, req.who, req.opts);
    }
    return { next: st, events };
  } catch (e) {
    mem.releaseHeld();
    return { error: (e as Error).message, cancelled: e instanceof CancelledError, events };
  }
}

/** Burn `n` iterations (no clock involved): widens the windows between a fault's steps. */
function spin(sh: MmShared, n: number): void {
  for (let i = 0; i < n; i++) Atomics.load(sh.w, CLOCK);
}
