/**
 * The model's pieces: the CPU cache semantics, pfn_batch carry (b7c822fa6b77's example), the
 * double-span iterator, the canonical cost counts per policy (the research note's hand counts are
 * the oracle), snapshot/restore exactness, determinism, and footprints.
 */
import { describe, expect, it } from 'vitest';
import { DataSource } from '../../../core/dataSource.ts';
import { runSeed } from '../../../core/prng.ts';
import { World } from '../../../core/world.ts';
import { CpuCache, OWNER_BASE } from '../../../kernel/cpuCache.ts';
import { batchAddPfn, batchClearCarry, batchInit, batchPfns, batchSkipCarry, doubleSpans } from '../../../systems/iommufd-flush/state/batch.ts';
import { POLICIES } from '../../../systems/iommufd-flush/types.ts';
import { PRESETS, pfnLayout, randomWorkload } from '../../../systems/iommufd-flush/workload.ts';
import { canonical } from '../../../bench/iommufd-flush.ts';
import { S, defaults, run } from './helpers.ts';

describe('kernel/cpuCache', () => {
  it('a dirty line hides memory from a no-snoop read until a flush writes it back', () => {
    const c = new CpuCache('c', [{ pfn: 100, dirty: true }, { pfn: 200, dirty: false }]);
    expect(c.dmaRead(100, false)).toBe(OWNER_BASE - 1);
    expect(c.dmaRead(100, true)).toBe(OWNER_BASE);
    expect(c.stateOf(100)).toBe('dirty');
    c.flush(100);
    expect(c.line(100)).toBeNull();
    expect(c.dmaRead(100, false)).toBe(OWNER_BASE);
    expect(c.dmaRead(200, false)).toBe(OWNER_BASE);
    expect(c.s.flushes).toBe(1);
  });
  it('a CPU write dirties, a no-snoop write leaves a stale line, a snooped write invalidates', () => {
    const c = new CpuCache('c', [{ pfn: 100, dirty: false }]);
    c.cpuRead(100);
    expect(c.stateOf(100)).toBe('clean');
    const v = c.dmaWrite(100, false);
    expect(c.stateOf(100)).toBe('stale');
    expect(c.cpuRead(100)).toBe(OWNER_BASE);
    expect(c.mem(100)).toBe(v);
    c.dmaWrite(100, true);
    expect(c.line(100)).toBeNull();
    const w = c.cpuWrite(100);
    expect(c.line(100)).toMatchObject({ dirty: true, v: w });
    const before = c.now();
    expect(c.advance()).toBe(before + 1);
  });
  it('snapshot and restore are exact and do not share objects', () => {
    const c = new CpuCache('c', [{ pfn: 100, dirty: true }]);
    const s = c.snapshot();
    c.cpuWrite(100);
    c.restore(s);
    expect(c.snapshot()).toEqual(s);
    c.cpuWrite(100);
    expect(s.pages[100].line!.v).toBe(OWNER_BASE);
  });
});

describe('pfn_batch and the double span iterator (pages.c)', () => {
  /** The unfill of 100-102,200 with index 1 held by an access, up to the second hole's batch_add_pfn. */
  function carry(keepsEnd: boolean): number[] {
    const b = batchInit(4, 2);
    batchAddPfn(b, 100); // batch_from_domain(0..0)
    // batch_from_domain_continue(1..3): stays inside the last entry, stops at the discontinuity
    const pfns = [101, 102, 200];
    const size = b.arraySize;
    b.arraySize = b.end;
    for (const p of pfns) if (!batchAddPfn(b, p)) break;
    b.arraySize = size;
    expect(batchPfns(b)).toEqual([100, 101, 102]);
    batchClearCarry(b, 2, keepsEnd); // carry {101, 2}
    batchSkipCarry(b, 1); // the access span [1,1]
    batchAddPfn(b, 200); // the hole [2,3]: batch_from_domain(3..3)
    const out: number[] = [];
    let cur = 0;
    let n = 2;
    while (n > 0 && cur < b.arraySize) {
      const k = Math.min(n, b.npfns[cur]);
      for (let i = 0; i < k; i++) out.push(b.pfns[cur] + i);
      n -= k;
      cur++;
    }
    return out;
  }
  it('b7c822fa6b77: with end = 1 the carry survives and 102, 200 are unpinned', () => {
    expect(carry(true)).toEqual([102, 200]);
  });
  it('before it (end = 0) 200 overwrites the carried 102 and a stale entry (pfn 0) is walked', () => {
    expect(carry(false)).toEqual([200, 0]);
  });
  it('spans: itree 1 wins, then itree 2 up to where itree 1 starts, holes between', () => {
    expect(doubleSpans([{ start: 2, last: 3 }], [{ start: 1, last: 5 }], 0, 6)).toEqual([
      { used: 0, start: 0, last: 0 },
      { used: 2, start: 1, last: 1 },
      { used: 1, start: 2, last: 3 },
      { used: 2, start: 4, last: 5 },
      { used: 0, start: 6, last: 6 },
    ]);
  });
  it('page-frame layouts', () => {
    expect(pfnLayout('runs:2', 5)).toEqual([100, 101, 200, 201, 300]);
    expect(pfnLayout('carry', 6)).toEqual([100, 101, 102, 200, 300, 301]);
  });
});

describe('canonical schedules: the hand counts of the research note are the oracle', () => {
  // flushes [readbacks] per policy for S1 S2 S3 S3' S4 S5 S6 (docs/iommufd-flush.md explains the
  // readback differences from the note: this model reads back only what it flushes).
  const expected: Record<string, [number, number][]> = {
    none: [[0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0]],
    seed: [[8, 0], [8, 0], [8, 0], [8, 0], [6, 0], [6, 0], [8, 0]],
    'per-fill': [[8, 0], [8, 0], [8, 0], [12, 0], [10, 0], [8, 0], [8, 0]],
    'sticky-lazy': [[8, 0], [12, 4], [12, 4], [16, 4], [12, 2], [12, 4], [10, 0]],
    'storage-hint': [[8, 0], [8, 4], [12, 4], [12, 4], [10, 2], [8, 4], [8, 0]],
    'per-span': [[8, 0], [8, 4], [8, 0], [8, 0], [8, 0], [8, 4], [8, 0]],
  };
  const schedules = ['attach-map-unmap', 'nc-after-map', 'two-nc', 'nc-late', 'copy-below', 'split-attach', 'access-detach'];
  for (const policy of POLICIES) {
    it(`${policy}`, () => {
      const got = schedules.map((w) => canonical(policy, w));
      expect(got.map((c) => [c.flushes, c.readbacks])).toEqual(expected[policy]);
      const violations = got.map((c) => c.dirtyAtMap + c.dirtyAtUnpin);
      if (policy === 'none') expect(violations.every((v) => v === 8)).toBe(true);
      else if (policy === 'seed') expect(violations).toEqual([0, 0, 0, 0, 2, 2, 0]);
      else expect(violations.every((v) => v === 0)).toBe(true);
    });
  }
});

describe('determinism, snapshot and footprints', () => {
  it('a run is a pure function of (params, seed): same trace hash twice, another seed differs', () => {
    const a = run(5, defaults());
    const b = run(5, defaults());
    const c = run(6, defaults());
    expect(a.traceHash).toBe(b.traceHash);
    expect(c.traceHash).not.toBe(a.traceHash);
  });

  it('a world restored from a snapshot takes the same steps and hashes the same', () => {
    const params = defaults({ ioas: 2, vmmThreads: 2 });
    // Choices that depend only on the step number and the label, so the continuation after a
    // restore draws the same data as the first time.
    const strategy = { name: 'fixed', newExecution() {}, choose: (e: readonly unknown[], i: number) => (i * 7) % e.length, chooseData: (d: { n: number; label: string }) => d.label.length % d.n };
    const w = new World(S, params, null, new DataSource(strategy), {});
    const go = (from: number, to: number) => {
      const keys: string[] = [];
      for (let i = from; i < to; i++) {
        const e = w.enabled();
        if (!e.length) break;
        const s = e[strategy.choose(e, i)];
        keys.push(s.key);
        w.execute(s, i);
      }
      return keys;
    };
    go(0, 30);
    const snap = w.snapshot();
    const hash = w.hash();
    const views = JSON.stringify(w.sharedViews());
    const first = go(30, 70);
    const after = w.hash();
    w.restore(snap);
    expect(w.hash()).toBe(hash);
    expect(JSON.stringify(w.sharedViews())).toBe(views);
    expect(go(30, 70)).toEqual(first);
    expect(w.hash()).toBe(after);
    expect(first.length).toBeGreaterThan(20);
  });

  it('every step stays inside its declared footprint (presets, variants and random workloads)', () => {
    let n = 0;
    const cases: [Record<string, unknown>, string | null][] = [...PRESETS.map((w) => [{ workload: w }, null] as [Record<string, unknown>, null]), ...S.bugs.map((b) => [{}, b.name] as [Record<string, unknown>, string])];
    cases.push([{ ioas: 2, vmmThreads: 2, policy: 'per-span' }, null], [{ policy: 'seed' }, null], [{ policy: 'storage-hint' }, null]);
    for (const [over, bug] of cases) {
      for (let i = 0; i < 10; i++) {
        const r = run(runSeed(9, i), defaults(over as never, bug), bug, 'random', { checkFootprints: true });
        expect(r.error?.message ?? null, `${JSON.stringify(over)} ${bug}`).toBeNull();
        n++;
      }
    }
    expect(n).toBeGreaterThan(250);
  });

  it('the random workload is data (JSON round trip) and draws only labelled choices', () => {
    const data = DataSource.seeded(3);
    const w = randomWorkload(defaults({ ioas: 2, vmmThreads: 2 }), data);
    expect(JSON.parse(JSON.stringify(w))).toEqual(w);
    expect(data.recorded.every((d) => /^(vmm|access):\d+:/.test(d.label))).toBe(true);
  });
});
