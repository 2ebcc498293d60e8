/**
 * tce.dev: the PCIe device behind the PE. It DMAs to bus pages of the PE's windows through the
 * PHB's TCE cache: a hit uses the cached translation (stale or not); a miss walks the table the
 * hardware sees (the window's TVE) and fills the cache; an invalid entry or a write through a
 * read-only TCE is a TCE fault (EEH: counted, the PE is not frozen in the model). The device
 * obeys nobody: with a guest driving it, any entry it ever saw is a target.
 */
import { ALL } from '../state/cache.ts';
import type { Op } from '../workload.ts';
import { type PathDef, type ProgramDef, threadKind } from './interp.ts';

function dmaPath(): PathDef {
  return {
    entry: 'start',
    steps: {
      start: {
        next: ['exit'],
        fn: 'device DMA',
        run: (x) => {
          const op = x.f.op as Extract<Op, { op: 'dma' }>;
          const T = x.S.tables;
          const cache = x.S.cache;
          // Targets: entries the cache holds and entries valid in a window now.
          const targets = new Set<number>(cache.filled());
          for (const tid of T.d.windows) {
            if (!tid || T.table(tid).freed) continue;
            const t = T.table(tid);
            for (const [i] of T.entries(tid)) targets.add(t.offset + i);
          }
          const list = [...targets].sort((a, b) => a - b);
          if (list.length === 0) return x.exit(0);
          const entry = list[x.data.int(`dma-target:${x.self}`, list.length)];
          let hit = true;
          let e = cache.lookup(entry);
          if (!e) {
            hit = false;
            const t = T.windowTable(entry);
            const tce = t ? T.read(t.id, entry - t.offset) : null;
            if (t && tce) {
              e = { pfn: tce.pfn, perm: tce.perm, table: t.id };
              cache.fill(entry, e);
            }
          }
          const ok = !!e && (op.access === 'R' || e.perm === 'RW');
          if (!ok) cache.d.eehs++;
          const pfn = e ? e.pfn : null;
          const pageState = pfn === null ? 'none' : x.S.mem.pageState(pfn);
          x.obs('dma', { entry, pfn, access: op.access, hit, ok, pageState, pins: pfn === null ? 0 : x.S.mem.pins(pfn) });
          x.exit(ok ? 0 : -5);
        },
      },
    },
    facets: ['tce.tables', 'tce.cache', 'tce.mem'],
    // The device reads the tables (the walk) and the pages' state; it writes only the cache.
    readOnly: ['tce.tables', 'tce.mem'],
    locks: [],
  };
}

function evictPath(): PathDef {
  return {
    entry: 'start',
    steps: {
      start: {
        next: ['exit'],
        fn: 'TCE cache eviction',
        run: (x) => {
          const filled = x.S.cache.filled();
          if (filled.length > 0) x.S.cache.evict(filled[x.data.int(`cache-evict:${x.self}`, filled.length)]);
          x.exit(0);
        },
      },
    },
    facets: ['tce.cache'],
    locks: [],
  };
}

export const devProgram: ProgramDef = {
  kind: 'tce.dev',
  paths: { dma: dmaPath(), evict: evictPath() },
  guards: {},
  pathOf: (op) => op.op,
};

export const devKind = threadKind(devProgram);
export { ALL };
