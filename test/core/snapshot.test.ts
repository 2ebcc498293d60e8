/**
 * World snapshot, restore and hash, over every registered scenario:
 * - restore-then-continue: snapshot mid-run, wander off for a few steps, restore, continue with the
 *   recorded schedule: the trace from the snapshot on is byte for byte the uninterrupted run's;
 * - the hash is canonical: two independent steps (by their declared footprints) executed in either
 *   order reach states that hash equal, and the hash tells different states apart.
 */
import { describe, expect, it } from 'vitest';
import { DataSource } from '../../core/dataSource.ts';
import type { Scenario } from '../../core/model/scenario.ts';
import { defaultParams } from '../../core/params.ts';
import { runOnce } from '../../core/run.ts';
import { makeStrategy } from '../../core/strategies/make.ts';
import { RandomWalk } from '../../core/strategies/random.ts';
import { Replay } from '../../core/strategies/replay.ts';
import type { Choice, DataDraw, ExecutionInfo, Strategy } from '../../core/strategies/strategy.ts';
import { traceLine } from '../../core/trace.ts';
import { type EnabledStep, World, dependent } from '../../core/world.ts';
import { scenarios } from '../../systems/index.ts';

const defaults = (s: Scenario) => defaultParams(s);

/** A strategy whose data choices can be switched to another source mid-run. */
class Switch implements Strategy {
  readonly name = 'switch';
  constructor(public inner: Strategy) {}
  newExecution(e: ExecutionInfo): void {
    this.inner.newExecution(e);
  }
  choose(enabled: readonly Choice[], step: number): number {
    return this.inner.choose(enabled, step);
  }
  chooseData(d: DataDraw): number {
    return this.inner.chooseData(d);
  }
}

for (const scenario of Object.values(scenarios)) {
  const params = defaults(scenario);
  describe(`${scenario.name}: world snapshot and restore`, () => {
    it('restore-then-continue gives the uninterrupted trace, over many seeds and both sampling strategies', () => {
      let checked = 0;
      for (const strategy of ['random', 'pct'] as const) {
        const st = makeStrategy(strategy, { depth: 3, steps: scenario.stepEstimate(params) });
        for (let seed = 1; seed <= 40; seed++) {
          const ref: string[] = [];
          const r = runOnce({ scenario, params, bug: null, seed, strategy: st, maxSteps: 400, onTrace: (l) => ref.push(l) });
          if (r.steps < 6) continue;
          const replay = new Replay(r.schedule);
          const sw = new Switch(replay);
          sw.newExecution({ run: 0, seed });
          const world = new World(scenario, params, null, new DataSource(sw), { seed });
          const lines: string[] = [];
          world.steps$.subscribe((rec) => lines.push(traceLine(rec)));
          const k = Math.floor(r.steps / 2);
          let i = 0;
          const step = (s: Strategy) => {
            const en = world.enabled();
            world.execute(en[s.choose(en, i)], i);
            i++;
          };
          while (i < k) step(replay);
          const snap = world.snapshot();
          const pos = replay.position();
          // Wander off: other choices, other data.
          const wander = new RandomWalk();
          wander.newExecution({ run: 0, seed: seed + 1000 });
          sw.inner = wander;
          for (let j = 0; j < 8 && world.enabled().length > 0; j++) step(wander);
          world.restore(snap);
          replay.seek(pos);
          sw.inner = replay;
          i = k;
          lines.length = k;
          while (i < r.steps) step(replay);
          expect(lines.slice(k), `${strategy} seed ${seed} after restoring at step ${k}`).toEqual(ref.slice(k));
          world.stop();
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(40);
    });

    it('hashes independent steps in either order equal, and different states differently', () => {
      // Data choices depend only on the label, so both orders draw the same values.
      const fixedData: Strategy = { name: 'fixed', newExecution() {}, choose: () => 0, chooseData: () => 0 };
      let pairs = 0;
      let distinct = 0;
      for (let seed = 1; seed <= 25; seed++) {
        const walk = new RandomWalk();
        walk.newExecution({ run: 0, seed });
        const sw = new Switch({ ...fixedData, choose: (en: readonly Choice[]) => walk.choose(en) });
        const world = new World(scenario, params, null, new DataSource(sw), { seed });
        for (let i = 0; i < 150; i++) {
          const en = world.enabled();
          if (en.length === 0) break;
          if (i > 0 && i % 5 === 0 && en.length > 1) {
            const snap = world.snapshot();
            const h0 = world.hash();
            for (let a = 0; a < en.length && a < 4; a++) {
              for (let b = a + 1; b < en.length && b < 5; b++) {
                if (dependent(world.footprint(en[a]), world.footprint(en[b]))) continue;
                const order = (x: EnabledStep, y: EnabledStep): string | null => {
                  world.restore(snap);
                  world.execute(world.enabled().find((e) => e.key === x.key)!, i);
                  const second = world.enabled().find((e) => e.key === y.key);
                  if (!second) return null; // x disabled y: not independent after all (it was not co-enabled after)
                  world.execute(second, i + 1);
                  return world.hash();
                };
                const ab = order(en[a], en[b]);
                const ba = order(en[b], en[a]);
                expect(ab, `${scenario.name} seed ${seed} step ${i}: ${en[a].key} disables ${en[b].key} although their footprints are independent`).not.toBeNull();
                expect(ba, `${en[b].key} disables ${en[a].key}`).not.toBeNull();
                expect(ab, `${scenario.name} seed ${seed} step ${i}: ${en[a].key} then ${en[b].key} differs from the other order`).toBe(ba);
                if (ab !== h0) distinct++;
                pairs++;
              }
            }
            world.restore(snap);
          }
          world.execute(en[walk.choose(en)], i);
        }
        world.stop();
      }
      expect(pairs).toBeGreaterThan(20);
      expect(distinct).toBe(pairs);
    });
  });
}
