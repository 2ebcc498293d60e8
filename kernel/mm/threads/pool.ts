/**
 * The threaded mm runtime: one piscina pool of kworker threads and one SharedArrayBuffer for a
 * whole exploration (thread start-up is paid once, not per run). Each thread runs one long task
 * (faultThread.ts) parked on its turn word. A thread that dies (its task rejects, or a waiter
 * finds its heartbeat stopped) marks its slot dead: the run in progress fails with that error,
 * the runtime reports itself unhealthy, and heal() starts a replacement between runs.
 */
import { Piscina } from 'piscina';
import { workerExecArgv, workerFile } from '../../../workers/tsx.ts';
import type { LockPort } from '../../../core/model/locks.ts';
import type { MemoryPort } from '../memory.ts';
import type { MmMode, MmRuntime, RunMemory } from '../runtime.ts';
import { inlineMm } from '../runtime.ts';
import { CTL_DONE, CTL_IDLE, CTL_QUIT, MAX_THREADS, MmShared } from '../shared/layout.ts';
import { FreeRun } from './free.ts';
import { TurnstileRun } from './turnstile.ts';
import type { ThreadTask } from './protocol.ts';

// Atomics.waitAsync is in Node 20 but not in TypeScript's ES2022 library.
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, i: number, v: number, t: number): { async: boolean; value: Promise<string> | string };
}).waitAsync;

const FAULT_THREAD = workerFile(new URL('./faultThread.ts', import.meta.url));

/** Free mode's default spin before each step of a fault (iterations, drawn uniformly up to this). */
export const DEFAULT_JITTER = 20000;

export interface MmRuntimeOptions {
  /** kworker threads (at least the scenario's kworker count). */
  threads: number;
  /** Free mode: the largest seeded spin before each fault step. */
  jitter?: number;
}

export async function createMmRuntime(mode: MmMode, opts: MmRuntimeOptions): Promise<MmRuntime> {
  if (mode === 'inline') return inlineMm;
  if (!Number.isInteger(opts.threads) || opts.threads < 1 || opts.threads > MAX_THREADS) {
    throw new Error(`the ${mode} mm runtime needs 1 to ${MAX_THREADS} kworker threads, got ${opts.threads}`);
  }
  const rt = new ThreadedRuntime(mode, opts.threads, opts.jitter ?? DEFAULT_JITTER);
  await rt.start();
  return rt;
}

export class ThreadedRuntime implements MmRuntime {
  readonly sh = MmShared.create();
  readonly pool: Piscina;
  private readonly tasks = new Map<number, Promise<void>>();
  /** Why each dead slot died, as far as the pool told us. */
  readonly deaths: { slot: number; error: string }[] = [];
  private current: RunMemory | null = null;

  constructor(
    readonly mode: Exclude<MmMode, 'inline'>,
    readonly threads: number,
    private readonly jitter: number,
  ) {
    this.pool = new Piscina({
      filename: FAULT_THREAD,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: 2 ** 30,
      execArgv: workerExecArgv(),
    });
    // A worker's death is reported through its task's promise; do not let it surface twice.
    this.pool.on('error', () => {});
  }

  async start(): Promise<void> {
    for (let s = 1; s <= this.threads; s++) this.launch(s);
    for (let s = 1; s <= this.threads; s++) await this.ready(s);
  }

  healthy(): boolean {
    for (let s = 1; s <= this.threads; s++) if (this.sh.isDead(s) || !this.tasks.has(s)) return false;
    return true;
  }

  attach(base: MemoryPort, locks: LockPort, seed: number): RunMemory {
    this.current?.close?.();
    for (let s = 1; s <= this.threads; s++) {
      if (this.sh.isDead(s) || !this.tasks.has(s)) throw new Error(`kworker thread slot ${s} is dead; the runtime must be healed before the next run`);
      const c = this.sh.ctl(s);
      if (c !== CTL_IDLE && c !== CTL_DONE) throw new Error(`kworker thread slot ${s} is still busy (turn word ${c})`);
      if (c === CTL_DONE) this.sh.post(s, CTL_IDLE);
    }
    this.sh.reset(base.describe());
    this.current = this.mode === 'turnstile' ? new TurnstileRun(this.sh, locks, this.threads) : new FreeRun(this.sh, locks, this.threads, seed, this.jitter);
    return this.current;
  }

  async heal(): Promise<void> {
    for (let s = 1; s <= this.threads; s++) {
      if (!this.sh.isDead(s) && this.tasks.has(s)) continue;
      const old = this.tasks.get(s);
      if (old) {
        // Marked dead by a heartbeat check but maybe only slow: ask it to quit, then wait for it.
        this.sh.post(s, CTL_QUIT);
        await old;
      }
      this.launch(s);
      await this.ready(s);
    }
  }

  async close(): Promise<void> {
    this.current?.close?.();
    this.current = null;
    for (let s = 1; s <= this.threads; s++) this.sh.post(s, CTL_QUIT);
    await Promise.all(this.tasks.values());
    await this.pool.destroy();
  }

  private launch(slot: number): void {
    this.sh.prepareSlot(slot);
    const task: ThreadTask = { sab: this.sh.sab, slot };
    const p = this.pool.run(task).then(
      () => {
        this.tasks.delete(slot);
      },
      (e: unknown) => {
        this.deaths.push({ slot, error: e instanceof Error ? e.message : String(e) });
        this.sh.markDead(slot);
        this.tasks.delete(slot);
      },
    );
    this.tasks.set(slot, p);
  }

  /** Wait (asynchronously, outside any run) for the slot's first heartbeat. */
  private async ready(slot: number): Promise<void> {
    const i = this.sh.beatIndex(slot);
    while (Atomics.load(this.sh.w, i) === 0) {
      if (!this.tasks.has(slot)) throw new Error(`kworker thread slot ${slot} failed to start: ${this.deaths.at(-1)?.error ?? 'unknown error'}`);
      const r = waitAsync(this.sh.w, i, 0, 1000);
      if (r.async) await r.value;
    }
  }
}
