/**
 * Every variant is found within a small budget with its preset and its repro replays to the same
 * monitor, step and message; the fixed model is clean on that preset (where the preset does not
 * select a policy that is the bug itself). Monitors that another one pre-empts in the full set are
 * shown catching a variant when run alone.
 */
import { describe, expect, it } from 'vitest';
import { replaySchedule } from '../../../core/replayRun.ts';
import type { Monitor } from '../../../core/model/monitor.ts';
import type { Scenario } from '../../../core/model/scenario.ts';
import { DataSource } from '../../../core/dataSource.ts';
import { ioctlsComplete, ncCleanAtUnpin, ncFlushBeforeMap, ncNoStaleRead } from '../../../systems/iommufd-flush/specs/index.ts';
import { buildWorld } from '../../../systems/iommufd-flush/scenario.ts';
import type { FlushWorkload } from '../../../systems/iommufd-flush/machines/ops.ts';
import { S, defaults, explore, firstFailing } from './helpers.ts';

const BUDGET = 400;

describe('iommufd-flush bug variants', () => {
  for (const bug of S.bugs) {
    it(`${bug.name} is found within ${BUDGET} runs by ${bug.caughtBy[0]} (or another listed) and its repro replays`, () => {
      const params = defaults({}, bug.name);
      const { failing } = firstFailing(params, bug.name, BUDGET);
      expect(failing, `not found in ${BUDGET} runs`).not.toBeNull();
      const v = failing!.result.violation!;
      expect(bug.caughtBy).toContain(v.monitor);
      const again = replaySchedule({ scenario: S, params, bug: bug.name, maxSteps: 5000 }, failing!.result.schedule);
      expect(again.violation?.monitor).toBe(v.monitor);
      expect(again.violation?.step).toBe(v.step);
      expect(again.violation?.message).toBe(v.message);
      // The policy-selecting variants (the seed's own behaviour) have no fixed run to compare.
      if (bug.params?.policy === 'seed') return;
      const fixed = firstFailing(params, null, 30);
      expect(fixed.failing?.result.violation?.message ?? null, 'the fixed model on the same preset').toBeNull();
    });
  }

  it('a found variant shrinks and its shrunk repro still fails the same monitor (explore)', () => {
    for (const name of ['batch-carry-end']) {
      const params = defaults({}, name);
      const r = explore({ scenario: S, params, bug: name, runs: BUDGET, seed: 1, strategy: 'pct', depth: 3, maxSteps: 5000 });
      expect(r.firstViolation).not.toBeNull();
      const again = replaySchedule({ scenario: S, params, bug: name, maxSteps: 5000 }, r.firstViolation!.schedule);
      expect(again.violation?.monitor).toBe(r.firstViolation!.monitor);
      expect(again.steps).toBeLessThanOrEqual(r.firstViolation!.foundSteps);
    }
  });

  it('every variant has a summary, a reference, params that exist and monitors that exist', () => {
    const monitors = S.monitors.map((m) => m.name);
    const names = S.parameters.map((p) => p.name);
    expect(S.bugs.length).toBeGreaterThanOrEqual(9);
    for (const b of S.bugs) {
      expect(b.summary.length).toBeGreaterThan(40);
      expect(b.reference.length).toBeGreaterThan(20);
      for (const m of b.caughtBy) expect(monitors).toContain(m);
      for (const k of Object.keys(b.params ?? {})) expect(names).toContain(k);
    }
    for (const req of ['flag-skip-shared-pages', 'counter-zero-not-flushed', 'no-flush-upstream', 'split-domains-itree', 'batch-carry-end', 'contig-done-after-unlock', 'area-ptr-after-unlock', 'destroy-refcount-race', 'unpin-with-access']) {
      expect(S.bugs.map((b) => b.name)).toContain(req);
    }
  });

  // nc-skip-only-if-flushed fires first whenever a policy skips a flush; alone, each of the other
  // non-coherent monitors catches the upstream leak (and the seed's shared-pages skip) itself.
  const alone = (m: Monitor): Scenario => ({ ...S, monitors: [m] });
  for (const [m, bug] of [
    [ncFlushBeforeMap, 'no-flush-upstream'],
    [ncNoStaleRead, 'no-flush-upstream'],
    [ncCleanAtUnpin, 'no-flush-upstream'],
    [ncFlushBeforeMap, 'flag-skip-shared-pages'],
    [ncCleanAtUnpin, 'counter-zero-not-flushed'],
  ] as const) {
    it(`${m.name} alone catches ${bug}`, () => {
      const params = defaults({}, bug);
      const { failing } = firstFailing(params, bug, BUDGET, 'random', alone(m));
      expect(failing?.result.violation?.monitor).toBe(m.name);
    });
  }

  it('ioctls-complete catches a thread left waiting (a hand-written workload whose flag is never signalled)', () => {
    const w: FlushWorkload = {
      vmm: [[{ op: 'map', ioas: 0, iova: 0, uptr: 0, len: 2 }, { op: 'wait', flag: 'never' }, { op: 'unmap', ioas: 0, iova: 0, len: 2 }]],
      access: [],
      cpu: [],
      dev: [],
    };
    const hand: Scenario = { ...S, build: (p, _b, data) => buildWorld(p, w, data) };
    const r = explore({ scenario: hand, params: defaults({ allocFailRate: 0, gupFailRate: 0 }), bug: null, runs: 3, seed: 1, strategy: 'random', depth: 3, maxSteps: 5000 });
    expect(r.firstViolation?.monitor).toBe('ioctls-complete');
    expect(r.firstViolation?.message).toMatch(/vmm0 2 op\(s\) left/);
    // The same workload through buildWorld directly is plain data.
    expect(JSON.parse(JSON.stringify(w))).toEqual(w);
    expect(buildWorld(defaults(), w, DataSource.seeded(1)).actors.map((a) => a.id)).toEqual(['vmm0']);
  });
});
