import { describe, expect, it } from 'vitest';
import { explore } from '../../../core/explore.ts';
import { replaySchedule } from '../../../core/replayRun.ts';
import { iopfScenario } from '../../../systems/iopf/scenario.ts';
import { iopfDefaults } from '../../helpers.ts';

/** Every variant must be found within this many runs, with either strategy. */
const BUDGET = 200;

describe('IOPF bug variants', () => {
  for (const bug of iopfScenario.bugs) {
    for (const strategy of ['random', 'pct'] as const) {
      it(`${bug.name} is found by ${strategy} within ${BUDGET} runs and its repro replays to ${bug.caughtBy.join(' or ')}`, () => {
        const params = iopfDefaults(bug.params);
        const r = explore({ scenario: iopfScenario, params, bug: bug.name, runs: BUDGET, seed: 1, strategy, depth: 3, maxSteps: 20000 });
        expect(r.firstViolation, `not found in ${BUDGET} runs`).not.toBeNull();
        const v = r.firstViolation!;
        expect(bug.caughtBy).toContain(v.monitor);
        const again = replaySchedule({ scenario: iopfScenario, params, bug: bug.name, maxSteps: 20000 }, v.schedule);
        expect(again.violation?.monitor).toBe(v.monitor);
        expect(again.violation?.step).toBe(v.step);
        expect(again.violation?.message).toBe(v.message);
      });
    }
  }

  it('every variant has a summary, a reference and a monitor that exists', () => {
    const monitors = iopfScenario.monitors.map((m) => m.name);
    expect(iopfScenario.bugs.length).toBeGreaterThanOrEqual(12);
    for (const b of iopfScenario.bugs) {
      expect(b.summary.length).toBeGreaterThan(20);
      expect(b.reference.length).toBeGreaterThan(5);
      for (const m of b.caughtBy) expect(monitors).toContain(m);
    }
  });

  it('every variant substitutes guards or actions the machines of the scenario have, and nothing else', () => {
    const data = { int: () => 0, chance: () => false, fault: () => false };
    const kinds = new Map(iopfScenario.build(iopfDefaults(), null, data, iopfScenario.workload!.draw(iopfDefaults(), data)).actors.map((a) => [a.kind.kind, a.kind]));
    for (const b of iopfScenario.bugs) {
      const provide = Object.entries(b.provide ?? {});
      expect(provide.length, `${b.name} substitutes nothing`).toBeGreaterThan(0);
      for (const [kind, sub] of provide) {
        const machine = kinds.get(kind)?.machine;
        expect(machine, `${b.name}: no actor kind ${kind}`).toBeDefined();
        const { guards = {}, actions = {} } = sub as { guards?: object; actions?: object };
        for (const g of Object.keys(guards)) expect(Object.keys(machine!.implementations.guards), `${b.name}: ${kind} has no guard ${g}`).toContain(g);
        for (const a of Object.keys(actions)) expect(Object.keys(machine!.implementations.actions), `${b.name}: ${kind} has no action ${a}`).toContain(a);
      }
    }
  });
});
