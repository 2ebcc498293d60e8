/**
 * The fixed model: clean over sampled runs with the defaults and with each design alternative
 * (every step checked against its declared footprint), deterministic, and its world snapshots
 * restore exactly. The big counts (20,000 PCT runs, 2,000 per alternative) are measured with
 * `pagerace explore` and reported in docs/dirty.md.
 */
import { describe, expect, it } from 'vitest';
import { DataSource } from '../../../core/dataSource.ts';
import { RandomWalk } from '../../../core/strategies/random.ts';
import { World } from '../../../core/world.ts';
import type { Params } from '../../../core/model/scenario.ts';
import { dirtyScenario } from '../../../systems/dirty/scenario.ts';
import { dirtyParams, dirtyRun } from './helpers.ts';

/** Alternatives expected clean (docs/dirty.md lists the ones that are not, and why). */
const ALTERNATIVES: Record<string, Params> = {
  defaults: {},
  'split=recursive': { split: 'recursive' },
  'split=straight bbml=2 flush=perBlock': { split: 'straight', bbml: 2, flush: 'perBlock' },
  'split=recursive bbml=0': { split: 'recursive', bbml: 0 },
  'split=recursive background': { split: 'recursive', splitWhen: 'background' },
  'split=straight iova-read background': { split: 'straight', bbml: 2, splitLock: 'iova-read', splitWhen: 'background' },
  'split=recursive intended bbml=2': { split: 'recursive', splitGuard: 'intended', bbml: 2, splitWhen: 'background' },
  'bitmap=chunked blocks offset=1': { bitmap: 'chunked', layout: 'blocks', bitmapOffset: 1 },
  'getRanges=subrange': { getRanges: 'subrange' },
  'hugePages=false': { hugePages: false },
  'tlbCachesDirty=false': { tlbCachesDirty: false },
  'partialUnmap=true tableIgnoredBits=random': { partialUnmap: true, tableIgnoredBits: 'random' },
  'levels=4 fanout=3': { levels: 4, fanout: 3 },
};

describe('dirty fixed model', () => {
  for (const [name, over] of Object.entries(ALTERNATIVES)) {
    it(`${name}: clean over 16 random and 8 PCT runs, every step within its footprint`, () => {
      for (let s = 0; s < 24; s++) {
        const r = dirtyRun(1000 + s, { params: over, strategy: s < 16 ? 'random' : 'pct', checkFootprints: true });
        expect(r.error, `seed ${1000 + s}: ${r.error?.message}`).toBeUndefined();
        expect(r.violation?.message ?? null, `seed ${1000 + s}`).toBeNull();
        expect(r.quiescent, `seed ${1000 + s} did not reach quiescence`).toBe(true);
      }
    });
  }

  it('splitGuard=intended with BBML1 is not clean: the nT plain store loses a concurrent HTTU update', () => {
    let found = null;
    for (let s = 0; s < 200 && !found; s++) {
      const r = dirtyRun(s, { params: { split: 'recursive', splitGuard: 'intended', splitWhen: 'background', bbml: 1 } });
      if (r.violation) found = r.violation;
    }
    expect(found?.monitor).toBe('dirty-no-lost-write');
  });

  it('a run is a pure function of its inputs', () => {
    for (const s of [3, 17]) {
      const a = dirtyRun(s, { params: { split: 'recursive' } });
      const b = dirtyRun(s, { params: { split: 'recursive' } });
      expect(a.traceHash).toBe(b.traceHash);
      expect(a.schedule).toEqual(b.schedule);
    }
  });

  it('a world snapshot restores exactly: the same steps after it give the same hashes', () => {
    // No draws after the workload (the strategy's stream is not part of a world snapshot).
    const params = dirtyParams({ split: 'recursive', layout: 'blocks', faultRate: 0 });
    const strat = new RandomWalk();
    strat.newExecution({ run: 0, seed: 5 });
    const w = new World(dirtyScenario, params, null, new DataSource(strat));
    const pick = (k: number) => {
      const en = w.enabled();
      return en.length ? en[k % en.length] : null;
    };
    let i = 0;
    for (; i < 25; i++) w.execute(pick(i)!, i);
    const snap = w.snapshot();
    const h0 = w.hash();
    const hashes: string[] = [];
    for (let j = i; j < i + 30; j++) {
      const p = pick(j);
      if (!p) break;
      w.execute(p, j);
      hashes.push(w.hash());
    }
    w.restore(snap);
    expect(w.hash()).toBe(h0);
    const again: string[] = [];
    for (let j = i; j < i + hashes.length; j++) {
      w.execute(pick(j)!, j);
      again.push(w.hash());
    }
    expect(again).toEqual(hashes);
    // Restoring twice from one snapshot: the first restore must not have shared its objects.
    w.restore(snap);
    expect(w.hash()).toBe(h0);
  });
});
