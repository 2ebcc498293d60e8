/**
 * A kworker thread killed in the middle of a run, holding mmap_lock: the lock word it left held
 * is detected and reported (never waited on forever), the run fails with that error, the
 * exploration reports the run as errored and goes on once the runtime has replaced the thread.
 */
import { describe, expect, it } from 'vitest';
import { MM, type MmState } from '../../../kernel/mm/state.ts';
import { DataSource } from '../../../core/dataSource.ts';
import { explore } from '../../../core/explore.ts';
import { runOnce } from '../../../core/run.ts';
import { makeStrategy } from '../../../core/strategies/make.ts';
import { World } from '../../../core/world.ts';
import { iopfScenario } from '../../../systems/iopf/scenario.ts';
import { driveRange } from '../../../workers/explore/drive.ts';
import { DeadThreadError } from '../../../kernel/mm/shared/atomicLocks.ts';
import { type ThreadedRuntime, createMmRuntime } from '../../../kernel/mm/threads/pool.ts';
import { iopfDefaults } from '../../helpers.ts';

/** Step a world with the first enabled step until `until` holds (the schedule is irrelevant here). */
function stepUntil(world: World, until: () => boolean, bound = 2000): number {
  for (let i = 0; i < bound; i++) {
    if (until()) return i;
    const e = world.enabled();
    if (e.length === 0) throw new Error('the run went quiescent before the condition held');
    const pick = e.find((s) => s.key.includes('FAULT_STEP')) ?? e[0];
    world.execute(pick, i);
  }
  throw new Error('condition not reached');
}

describe('a kworker thread that dies mid-run', () => {
  it('leaves mmap_lock held: the writer is told which dead thread holds it, the runtime heals', async () => {
    const rt = (await createMmRuntime('turnstile', { threads: 2 })) as ThreadedRuntime;
    try {
      const world = new World(iopfScenario, iopfDefaults({ mmOps: 0, iommufdDevices: 0, unplugRate: 0, allocFailRate: 0 }), null, DataSource.seeded(11), { runtime: rt, seed: 11 });
      const mem = world.quiescence(0).shared!(MM) as MmState;
      // Run until a kworker's thread has taken mmap_lock for read (its lock step ran in the thread).
      stepUntil(world, () => rt.sh.readers().length > 0);
      const [slot] = rt.sh.readers();
      const victim = rt.pool.threads.find((t) => t.threadId === rt.sh.threadIdOf(slot))!;
      expect(victim).toBeDefined();
      await victim.terminate();
      // Let the pool report the death (its task promise rejects).
      await new Promise((r) => setTimeout(r, 50));
      expect(rt.healthy()).toBe(false);
      expect(mem.mem.canLockMmap('write')).toBe(false);
      expect(() => mem.mem.lockMmap('proc', 'write')).toThrow(DeadThreadError);
      expect(() => mem.mem.lockMmap('proc', 'write')).toThrow(new RegExp(`mmap_lock held for read by thread slot\\(s\\) ${slot}.*thread slot ${slot} is dead`));
      // The kworker's next turn goes to the dead thread: reported, not waited on.
      expect(() => stepUntil(world, () => false, 200)).toThrow(new RegExp(`thread slot ${slot} is dead`));
      world.stop();

      await rt.heal();
      expect(rt.healthy()).toBe(true);
      expect(rt.pool.threads.map((t) => t.threadId)).not.toContain(victim.threadId);
      // A fresh run on the healed runtime is inline's again.
      const cfg = { scenario: iopfScenario, params: iopfDefaults(), bug: null, seed: 5, maxSteps: 20000 };
      const strategy = () => makeStrategy('random', { depth: 3, steps: 100 });
      expect(runOnce({ ...cfg, strategy: strategy(), runtime: rt }).traceHash).toBe(runOnce({ ...cfg, strategy: strategy() }).traceHash);
    } finally {
      await rt.close();
    }
  });

  it('fails only the run it was in: the exploration reports it errored with its seed and completes', async () => {
    const rt = (await createMmRuntime('turnstile', { threads: 2 })) as ThreadedRuntime;
    try {
      const o = { scenario: iopfScenario, params: iopfDefaults(), bug: null, runs: 40, seed: 3, strategy: 'random' as const, depth: 3, maxSteps: 20000, mode: 'turnstile' as const, runtime: rt };
      // Kill thread slot 1 after run 9 (between runs, from the exploration's own progress hook);
      // run 10 finds it dead at its first turn.
      let killed: Promise<number> | null = null;
      const onRun = (i: number) => {
        if (i === 9) killed = rt.pool.threads.find((t) => t.threadId === rt.sh.threadIdOf(1))!.terminate();
      };
      // The kill needs the event loop: run 0..9, let it happen, then the rest.
      const first = await driveRange({ ...o, onRun }, { from: 0, to: 10 }, { chunk: 10 });
      await killed;
      await new Promise((r) => setTimeout(r, 50));
      const rest = await driveRange(o, { from: 10, to: 40 }, { chunk: 10 });
      expect(first.errored).toEqual([]);
      expect(rest.errored).toHaveLength(1);
      expect(rest.errored[0].run).toBe(10);
      expect(rest.errored[0].error).toMatch(/thread slot 1 is dead/);
      expect(first.runs + rest.runs).toBe(39);
      expect(rt.healthy()).toBe(true);
      // Every other run is exactly inline's.
      const inline = explore({ ...o, mode: 'inline', runtime: undefined });
      expect(inline.runs).toBe(40);
      const hashes = [...first.traceHashes, ...rest.traceHashes];
      const full = (await driveRange({ ...o, mode: 'inline', runtime: undefined }, { from: 0, to: 40 })).traceHashes;
      expect(hashes).toEqual(full.filter((_, i) => i !== 10));
    } finally {
      await rt.close();
    }
  });
});
