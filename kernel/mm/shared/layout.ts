/**
 * The shared memory of the threaded modes: one SharedArrayBuffer per exploration, reset at the
 * start of every run while every thread is parked. Int32 words first, then one mailbox of bytes
 * per thread slot. Slot 0 is the main thread (the scheduler, the process actor); slots
 * 1..MAX_THREADS are kworker threads.
 *
 * Which lock protects which field (as in the kernel's mm):
 *
 *   word(s)          field                       protected by
 *   USERS            mm->mm_users                atomic (Atomics.add / compareExchange), no lock
 *   NEXT_VMA         next vm_area_struct id      mmap_lock held for write (only writers allocate VMAs)
 *   NEXT_PFN         the page allocator          atomic (Atomics.add), no lock
 *   MMAP             mmap_lock itself            the rwsem word: 0 free, n > 0 readers, -(slot+1) writer
 *   READERS[slot]    "slot holds mmap_lock for   written only by that slot, after taking / before
 *                    read" (owner tracking)      dropping the read lock; read by the liveness check
 *   PTL              the page-table lock         the lock word: 0 free, slot+1 owner
 *   VMA_COUNT, VMAS  the VMA tree                mmap_lock: read to look up, write to change
 *   PT               the page table (PTE words)  the page-table lock (fault check-and-set, zap, change_protection);
 *                                                words are read and written with Atomics, so an
 *                                                unlocked peek sees a whole PTE, never a torn one
 *   BASE_PAGE        page-table window start     written by reset only (threads parked)
 *   CLOCK            free mode's history stamps  atomic (Atomics.add)
 *   CANCEL           run cancelled (free mode)   written by the main thread; read by waiters
 *   DONE             finished free-mode jobs     Atomics.add + notify by workers; waited on by main
 *   SLOT CTL         the turn word               a handoff: main writes STEP/JOB/QUIT, the thread writes
 *                                                DONE, main writes IDLE; the mailbox belongs to whoever
 *                                                the word says acts next
 *   SLOT BEAT        heartbeat                   written only by the slot's thread
 *   SLOT DEAD        slot known dead             written by whoever detects it; cleared on relaunch
 *   SLOT LEN         mailbox length              as the mailbox
 *   SLOT TID         the thread's worker threadId written by the thread at start (for messages, tests)
 */
import { type MemoryState, pageOf } from '../memory.ts';

export const MAX_THREADS = 16;
export const MAX_SLOTS = MAX_THREADS + 1;
export const MAX_VMAS = 128;
export const PT_PAGES = 8192;
export const MAILBOX_BYTES = 64 * 1024;

export const USERS = 0;
export const NEXT_VMA = 1;
export const NEXT_PFN = 2;
export const MMAP = 3;
export const PTL = 4;
export const CLOCK = 5;
export const CANCEL = 6;
export const VMA_COUNT = 7;
export const BASE_PAGE = 8;
export const DONE = 9;
const READERS = 16;
const SLOTS = 48;
const SLOT_STRIDE = 8;
const VMAS = 256;
const PT = VMAS + MAX_VMAS * 4;
const WORDS = PT + PT_PAGES;

/** Turn-word values. */
export const CTL_IDLE = 0;
export const CTL_STEP = 1;
export const CTL_JOB = 2;
export const CTL_DONE = 3;
export const CTL_QUIT = 4;

export class MmShared {
  readonly w: Int32Array;
  private readonly boxes: Buffer[];

  constructor(readonly sab: SharedArrayBuffer) {
    this.w = new Int32Array(sab, 0, WORDS);
    this.boxes = [...Array(MAX_SLOTS).keys()].map((s) => Buffer.from(sab, WORDS * 4 + s * MAILBOX_BYTES, MAILBOX_BYTES));
  }

  static create(): MmShared {
    return new MmShared(new SharedArrayBuffer(WORDS * 4 + MAX_SLOTS * MAILBOX_BYTES));
  }

  /** Load a memory state (a run's initial address space). Only while every thread is parked. */
  reset(st: MemoryState): void {
    const w = this.w;
    if (st.vmas.length > MAX_VMAS) throw new Error(`shared memory holds at most ${MAX_VMAS} VMAs, the scenario has ${st.vmas.length}`);
    w.fill(0, 0, 16);
    w.fill(0, READERS, READERS + MAX_SLOTS);
    w.fill(0, VMAS, WORDS);
    w[USERS] = st.users;
    w[NEXT_VMA] = st.nextVmaId;
    w[NEXT_PFN] = st.nextPfn;
    const pages = [...st.vmas.map((v) => pageOf(v.start)), ...st.ptes.map(([p]) => p)];
    w[BASE_PAGE] = pages.length ? Math.min(...pages) : 0;
    st.vmas.forEach((v, i) => w.set([v.id, v.start, v.end, v.prot], VMAS + i * 4));
    w[VMA_COUNT] = st.vmas.length;
    for (const [page, pte] of st.ptes) w[this.pteIndex(page, true)] = pte;
  }

  // ---- VMA table and page table -----------------------------------------------------------
  vmaIndex(i: number): number {
    return VMAS + i * 4;
  }

  /** Word of a page's PTE, or -1 outside the window (`strict`: throw instead). */
  pteIndex(page: number, strict = false): number {
    const i = page - this.w[BASE_PAGE];
    if (i >= 0 && i < PT_PAGES) return PT + i;
    if (strict) throw new Error(`page 0x${page.toString(16)} is outside the shared page table window (${PT_PAGES} pages from 0x${this.w[BASE_PAGE].toString(16)})`);
    return -1;
  }

  pageWindow(): { base: number; count: number } {
    return { base: this.w[BASE_PAGE], count: PT_PAGES };
  }

  // ---- mmap_lock owner tracking -------------------------------------------------------------
  readerIndex(slot: number): number {
    return READERS + slot;
  }

  readers(): number[] {
    const out: number[] = [];
    for (let s = 0; s < MAX_SLOTS; s++) if (Atomics.load(this.w, READERS + s) !== 0) out.push(s);
    return out;
  }

  // ---- thread slots -------------------------------------------------------------------------
  ctlIndex(slot: number): number {
    return SLOTS + slot * SLOT_STRIDE;
  }

  beatIndex(slot: number): number {
    return SLOTS + slot * SLOT_STRIDE + 1;
  }

  ctl(slot: number): number {
    return Atomics.load(this.w, this.ctlIndex(slot));
  }

  /** Set a slot's turn word and wake its thread (or the main thread waiting on it). */
  post(slot: number, value: number): void {
    Atomics.store(this.w, this.ctlIndex(slot), value);
    Atomics.notify(this.w, this.ctlIndex(slot));
  }

  beat(slot: number): void {
    Atomics.add(this.w, this.beatIndex(slot), 1);
  }

  beatOf(slot: number): number {
    return Atomics.load(this.w, this.beatIndex(slot));
  }

  isDead(slot: number): boolean {
    return Atomics.load(this.w, SLOTS + slot * SLOT_STRIDE + 2) !== 0;
  }

  markDead(slot: number): void {
    Atomics.store(this.w, SLOTS + slot * SLOT_STRIDE + 2, 1);
    // Wake anyone waiting on the slot so they notice at once.
    Atomics.notify(this.w, this.ctlIndex(slot));
    Atomics.notify(this.w, DONE);
  }

  /** The worker threadId of the thread serving a slot (0 before it started). */
  threadIdOf(slot: number): number {
    return Atomics.load(this.w, SLOTS + slot * SLOT_STRIDE + 4);
  }

  setThreadId(slot: number, tid: number): void {
    Atomics.store(this.w, SLOTS + slot * SLOT_STRIDE + 4, tid);
  }

  /** Before (re)launching a slot's thread: idle, no heartbeat yet, not dead. */
  prepareSlot(slot: number): void {
    const b = SLOTS + slot * SLOT_STRIDE;
    Atomics.store(this.w, b, CTL_IDLE);
    Atomics.store(this.w, b + 1, 0);
    Atomics.store(this.w, b + 2, 0);
    Atomics.store(this.w, b + 3, 0);
    Atomics.store(this.w, b + 4, 0);
  }

  cancelled(): boolean {
    return Atomics.load(this.w, CANCEL) !== 0;
  }

  // ---- mailboxes: JSON, owned by whichever side the turn word says acts next ----------------
  writeBox(slot: number, value: unknown): void {
    const text = JSON.stringify(value);
    const n = this.boxes[slot].write(text, 0, 'utf8');
    if (n >= MAILBOX_BYTES || Buffer.byteLength(text) !== n) throw new Error(`mailbox of thread slot ${slot} overflows (${Buffer.byteLength(text)} bytes)`);
    Atomics.store(this.w, SLOTS + slot * SLOT_STRIDE + 3, n);
  }

  readBox<T>(slot: number): T {
    const n = Atomics.load(this.w, SLOTS + slot * SLOT_STRIDE + 3);
    return JSON.parse(this.boxes[slot].toString('utf8', 0, n)) as T;
  }
}
