/**
 * The fixed tce model (6.17, with the corrected orders docs/tce.md gives) is clean over a few
 * hundred runs of each container type and of the seed path as the review left it; the runs reach
 * the paths the monitors judge. Thousands of runs are in bench/tce.ts.
 */
import { describe, expect, it } from 'vitest';
import { cli } from '../../helpers.ts';
import { tceExplore } from './helpers.ts';

describe('fixed tce model', () => {
  it('v2 (preregistered regions, KVM hcalls, DDW) is clean over 150 random runs', () => {
    const { result: r } = tceExplore({ params: { version: 'v2' }, runs: 150, seed: 2026 });
    expect(r.firstViolation).toBeNull();
    expect(r.metrics.quiescentRuns).toBe(150);
    expect(r.metrics.kills).toBeGreaterThan(150);
    expect(r.metrics['hold:h_put_tce_indirect:kvm->srcu']).toBeGreaterThan(0);
    expect(r.metrics['hold:register:tce:container->lock']).toBeGreaterThan(0);
    expect(r.metrics.unpinnedCachedSteps).toBe(0);
  });

  it('v1 (a pin per TCE) is clean over 150 PCT runs', () => {
    const { result: r } = tceExplore({ params: { version: 'v1' }, runs: 150, seed: 2026, strategy: 'pct' });
    expect(r.firstViolation).toBeNull();
    expect(r.metrics.gups).toBeGreaterThan(150);
    expect(r.metrics.unpinnedCachedSteps).toBe(0);
  });

  it('the 2012 seed path as the review left it (map-only, return after GUP, GUP outside the lock) is clean over 80 runs', () => {
    const { result: r } = tceExplore({ params: { version: 'v1', mapPath: 'seed', ownership: 'itmap', levels: 1, vcpus: 0 }, runs: 80, seed: 2026 });
    expect(r.firstViolation).toBeNull();
    expect(r.metrics['hold:seedMap:tce:pool[]']).toBeGreaterThan(0);
  });

  it('a bad parameter value is one line and exit 2', () => {
    const r = cli(['explore', 'tce', '--runs', '1', '--set', 'version=v3']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/version.*v1.*v2/);
  });
});
