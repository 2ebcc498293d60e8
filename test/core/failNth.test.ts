/** --fail-nth: finds the partial leak on the small IOPF configuration and is clean on the fixed model. */
import { describe, expect, it } from 'vitest';
import { sweepFailNth } from '../../core/failNth.ts';
import { iopfScenario } from '../../systems/iopf/scenario.ts';
import { iopfDefaults } from '../helpers.ts';

const small = { devices: 1, groupsPerDevice: 3, maxGroupSize: 3, prqDepth: 2, kworkers: 2, pages: 1, unplugRate: 0, mmOps: 0, iommufdDevices: 0, rebinds: 0, unboundRate: 0, unrecoverableRate: 0, privDataRate: 0 };
const base = { scenario: iopfScenario, params: iopfDefaults(small), runs: 3, seed: 1, strategy: 'random' as const, depth: 3, maxSteps: 20000 };

describe('fail-nth', () => {
  it('finds partial-leak-on-alloc-failure by failing a group allocation', () => {
    const r = sweepFailNth({ ...base, bug: 'partial-leak-on-alloc-failure' });
    expect(r.firstViolation?.monitor).toMatch(/no-stuck-partial|group-integrity/);
    expect(r.failNth.violationAt?.site).toBe('kzalloc:iopf.dev0:group');
  });

  it('is clean on the fixed model, sweeps every fault draw of each schedule, and is deterministic', () => {
    const r = sweepFailNth({ ...base, bug: null });
    expect(r.firstViolation).toBeNull();
    expect(Object.keys(r.failNth.sites).sort()).toEqual(['kzalloc:iopf.dev0:group', 'kzalloc:iopf.dev0:partial']);
    // One run per n up to each schedule's fault draws, plus the run that no longer reaches an nth.
    const failed = Object.values(r.failNth.sites).reduce((a, b) => a + b, 0);
    expect(r.runs).toBe(failed + base.runs);
    expect(sweepFailNth({ ...base, bug: null }).digest).toBe(r.digest);
  });
});
