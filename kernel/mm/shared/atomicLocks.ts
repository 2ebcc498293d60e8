/**
 * mmap_lock (a reader-writer semaphore) and the page-table lock over Atomics words, with owner
 * tracking so that a lock left held by a dead thread is detected instead of waited on forever.
 *
 * Every wait is bounded: Atomics.wait in chunks of WAIT_CHUNK_MS. That timeout is outside the
 * run's semantics (no run result depends on it): it only lets a waiter notice that the thread it
 * waits for is dead (its DEAD flag is set, or its heartbeat has not moved for
 * DEAD_AFTER_CHUNKS chunks) or that the run was cancelled.
 */
import { CANCEL, MMAP, type MmShared, PTL } from './layout.ts';

/** Liveness polling interval (ms): only to detect dead threads, never part of a run. */
export const WAIT_CHUNK_MS = 25;
/** A thread whose heartbeat has not moved for this many chunks (~2 s) is dead. */
export const DEAD_AFTER_CHUNKS = 80;

export class DeadThreadError extends Error {
  constructor(
    message: string,
    readonly slot: number,
  ) {
    super(message);
  }
}

export class CancelledError extends Error {}

/**
 * Wait while w[index] === value. `owners` are the slots whose progress the wait depends on
 * (slot 0, the main thread, is alive as long as the process is). `what` describes the wait for
 * the error message.
 */
export function waitWhile(sh: MmShared, self: number, index: number, value: number, owners: () => number[], what: () => string, cancellable = true): void {
  const w = sh.w;
  let chunks = 0;
  let sample = new Map<number, number>();
  for (;;) {
    if (Atomics.load(w, index) !== value) return;
    if (cancellable && Atomics.load(w, CANCEL) !== 0) throw new CancelledError(`cancelled while waiting: ${what()}`);
    for (const o of owners()) {
      if (o !== 0 && sh.isDead(o)) throw new DeadThreadError(`${what()}: thread slot ${o} is dead`, o);
    }
    if (chunks % DEAD_AFTER_CHUNKS === 0) {
      for (const o of owners()) {
        if (o === 0) continue;
        const b = sh.beatOf(o);
        if (chunks > 0 && sample.get(o) === b) {
          sh.markDead(o);
          throw new DeadThreadError(`${what()}: thread slot ${o} stopped (no heartbeat for ${(DEAD_AFTER_CHUNKS * WAIT_CHUNK_MS) / 1000} s)`, o);
        }
      }
      sample = new Map(owners().map((o) => [o, sh.beatOf(o)]));
    }
    if (Atomics.wait(w, index, value, WAIT_CHUNK_MS) === 'timed-out') {
      chunks++;
      if (self !== 0) sh.beat(self);
    }
  }
}

// ---- mmap_lock: 0 free, n > 0 readers, -(slot+1) the writer ---------------------------------

export function writerOf(v: number): number {
  return -v - 1;
}

export function mmapOwners(sh: MmShared): number[] {
  const v = Atomics.load(sh.w, MMAP);
  return v < 0 ? [writerOf(v)] : sh.readers();
}

function describeMmap(sh: MmShared): string {
  const v = Atomics.load(sh.w, MMAP);
  if (v < 0) return `mmap_lock held for write by thread slot ${writerOf(v)}`;
  return `mmap_lock held for read by thread slot(s) ${sh.readers().join(', ') || '?'}`;
}

export function canReadLock(sh: MmShared): boolean {
  return Atomics.load(sh.w, MMAP) >= 0;
}

export function canWriteLock(sh: MmShared): boolean {
  return Atomics.load(sh.w, MMAP) === 0;
}

export function readLock(sh: MmShared, slot: number): void {
  const w = sh.w;
  for (;;) {
    const v = Atomics.load(w, MMAP);
    if (v >= 0) {
      if (Atomics.compareExchange(w, MMAP, v, v + 1) === v) {
        Atomics.store(w, sh.readerIndex(slot), 1);
        return;
      }
      continue;
    }
    waitWhile(sh, slot, MMAP, v, () => mmapOwners(sh), () => `thread slot ${slot} waits for mmap_lock (read): ${describeMmap(sh)}`);
  }
}

export function writeLock(sh: MmShared, slot: number): void {
  const w = sh.w;
  for (;;) {
    const v = Atomics.load(w, MMAP);
    if (v === 0) {
      if (Atomics.compareExchange(w, MMAP, 0, -(slot + 1)) === 0) return;
      continue;
    }
    waitWhile(sh, slot, MMAP, v, () => mmapOwners(sh), () => `thread slot ${slot} waits for mmap_lock (write): ${describeMmap(sh)}`);
  }
}

/** Which mode `slot` holds mmap_lock in, or null. */
export function mmapHeldBy(sh: MmShared, slot: number): 'read' | 'write' | null {
  if (Atomics.load(sh.w, MMAP) === -(slot + 1)) return 'write';
  return Atomics.load(sh.w, sh.readerIndex(slot)) !== 0 ? 'read' : null;
}

export function mmapUnlock(sh: MmShared, slot: number): void {
  const w = sh.w;
  const mode = mmapHeldBy(sh, slot);
  if (mode === 'write') Atomics.store(w, MMAP, 0);
  else if (mode === 'read') {
    Atomics.store(w, sh.readerIndex(slot), 0);
    Atomics.sub(w, MMAP, 1);
  } else throw new Error(`mmap_lock released by thread slot ${slot}, which does not hold it`);
  Atomics.notify(w, MMAP);
}

// ---- the page-table lock: 0 free, slot+1 the owner ------------------------------------------

export function ptlLock(sh: MmShared, slot: number): void {
  const w = sh.w;
  for (;;) {
    if (Atomics.compareExchange(w, PTL, 0, slot + 1) === 0) return;
    const v = Atomics.load(w, PTL);
    if (v === 0) continue;
    waitWhile(sh, slot, PTL, v, () => [v - 1], () => `thread slot ${slot} waits for the page-table lock held by thread slot ${v - 1}`);
  }
}

export function ptlUnlock(sh: MmShared, slot: number): void {
  const w = sh.w;
  if (Atomics.compareExchange(w, PTL, slot + 1, 0) !== slot + 1) {
    throw new Error(`page-table lock released by thread slot ${slot}, which does not hold it (word ${Atomics.load(w, PTL)})`);
  }
  Atomics.notify(w, PTL);
}

export function ptlHeldBy(sh: MmShared, slot: number): boolean {
  return Atomics.load(sh.w, PTL) === slot + 1;
}
