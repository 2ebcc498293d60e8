import { describe, expect, it } from 'vitest';
import { explore } from '../../../core/explore.ts';
import { iopfScenario } from '../../../systems/iopf/scenario.ts';
import type { Params } from '../../../core/model/scenario.ts';
import { iopfDefaults } from '../../helpers.ts';

const base = { scenario: iopfScenario, bug: null, seed: 2026, depth: 3, maxSteps: 20000 };

describe('fixed IOPF model', () => {
  it('is clean over 5,000 random-walk runs', () => {
    const r = explore({ ...base, params: iopfDefaults(), runs: 5000, strategy: 'random' });
    expect(r.firstViolation).toBeNull();
    expect(r.runs).toBe(5000);
    // The runs really exercise the paths the monitors judge.
    expect(r.metrics.quiescentRuns).toBe(5000);
    expect(r.metrics.prqOverflows).toBeGreaterThan(0);
    expect(r.metrics.failureResponses).toBeGreaterThan(0);
    expect(r.metrics.groupsQueued).toBeGreaterThan(5000);
    expect(r.metrics.iommufdDelivered).toBeGreaterThan(1000);
    expect(r.metrics.iommufdRejectedWrites).toBeGreaterThan(0);
    expect(r.metrics.stopMarkers).toBeGreaterThan(0);
  });

  it('is clean over 2,000 PCT runs (depth 3)', () => {
    const r = explore({ ...base, params: iopfDefaults(), runs: 2000, strategy: 'pct' });
    expect(r.firstViolation).toBeNull();
    expect(r.metrics.pctBound).toBeGreaterThan(0);
  });

  const sets: Params[] = [{ transport: 'stall' }, { deferred: false }, { prqDepth: 32 }, { iommufdDevices: 2 }, { iommufdDevices: 0, devices: 3, kworkers: 3 }];
  for (const set of sets) {
    it(`is clean over 400 PCT runs with ${JSON.stringify(set)}`, () => {
      const r = explore({ ...base, params: iopfDefaults(set), runs: 400, strategy: 'pct' });
      expect(r.firstViolation).toBeNull();
      expect(r.metrics.answeredRequests).toBeGreaterThan(400);
    });
  }

  it('deferred=false runs partials ahead: more fault steps in all, the groups still answered once', () => {
    const params = { prqDepth: 32, groupsPerDevice: 6, maxGroupSize: 5, outstanding: 16 };
    const deferred = explore({ ...base, params: iopfDefaults(params), runs: 300, strategy: 'random' });
    const eager = explore({ ...base, params: iopfDefaults({ ...params, deferred: false }), runs: 300, strategy: 'random' });
    expect(deferred.firstViolation).toBeNull();
    expect(eager.firstViolation).toBeNull();
    expect(eager.metrics.faultSteps).toBeGreaterThan(deferred.metrics.faultSteps);
  });

  it('is clean with map grouping and a deep queue, and the map examines fewer partials', () => {
    const list = explore({ ...base, params: iopfDefaults({ prqDepth: 512, groupsPerDevice: 8, maxGroupSize: 6, outstanding: 32 }), runs: 300, strategy: 'random' });
    const map = explore({ ...base, params: iopfDefaults({ prqDepth: 512, groupsPerDevice: 8, maxGroupSize: 6, outstanding: 32, grouping: 'map' }), runs: 300, strategy: 'random' });
    expect(list.firstViolation).toBeNull();
    expect(map.firstViolation).toBeNull();
    expect(map.metrics.groupLookupSteps).toBeLessThan(list.metrics.groupLookupSteps);
  });
});
