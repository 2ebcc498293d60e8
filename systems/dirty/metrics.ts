/**
 * The costs of spec §5, counted from every step's observations (a per-run observer):
 *  pteWrites           software descriptor stores (leaf/table init, clears, set_bit, nT, unmap clears, successful cmpxchg)
 *  hwDirtyUpdates      HTTU read-modify-writes
 *  tableAllocs / allocFails / tableInstalls (into empty slots) / installTableSwaps (block -> table) / installTableFails
 *  tlbInvalidations    TLBI commands (range or all); tlbiNoops: syncs that invalidated nothing (gather.pgsize == 0)
 *  transitionalSteps   steps during which some page is behind a stale TLB entry or an nT block; maxTransitionalWindow
 *  overReportedBytes   per GET: (bits set - bits of pages with a cause of their own: a write since their leaf's
 *                      last clear, or creation) x pageBytes; summed, with gets and maxOverReportedBytes
 *  tlbMisses / dmaAccesses, splitSteps, splitPagesRequested / splitPages
 */
import type { StepRecord } from '../../core/model/monitor.ts';
import type { Params } from '../../core/model/scenario.ts';
import { is, pagesOf } from './specs/util.ts';

export function dirtyObserver(params: Params): { onStep(rec: StepRecord): void; result(): Record<string, number> } {
  const pageBytes = Number(params.pageBytes ?? 4096);
  const m: Record<string, number> = {
    pteWrites: 0,
    hwDirtyUpdates: 0,
    tableAllocs: 0,
    allocFails: 0,
    tableInstalls: 0,
    installTableSwaps: 0,
    installTableFails: 0,
    tlbInvalidations: 0,
    tlbiNoops: 0,
    transitionalSteps: 0,
    maxTransitionalWindow: 0,
    gets: 0,
    overReportedBytes: 0,
    maxOverReportedBytes: 0,
    tlbMisses: 0,
    dmaAccesses: 0,
    splitSteps: 0,
    splitPagesRequested: 0,
    splitPages: 0,
  };
  /** Pages with a cause of their own since their leaf was last cleared. */
  const own = new Set<number>();
  let since = -1;
  return {
    onStep(rec) {
      for (const o of rec.obs) {
        if (is(o, 'pte-write')) {
          m.pteWrites++;
          if (o.kind === 'clear') for (const p of pagesOf(o.start, o.size)) own.delete(p);
          if (o.kind === 'map') for (const p of pagesOf(o.start, o.size)) own.add(p);
        } else if (is(o, 'pte-clear')) {
          m.pteWrites++;
          for (const p of pagesOf(o.start, o.size)) own.delete(p);
        } else if (is(o, 'install-table')) {
          if (!o.ok) m.installTableFails++;
          else {
            m.pteWrites++;
            if (o.replaced === 'block') m.installTableSwaps++;
            else m.tableInstalls++;
          }
        } else if (is(o, 'hw-dirty')) m.hwDirtyUpdates++;
        else if (is(o, 'table-alloc')) {
          if (o.ok) m.tableAllocs++;
          else m.allocFails++;
        } else if (is(o, 'tlbi')) {
          if (o.kind === 'noop') m.tlbiNoops++;
          else m.tlbInvalidations++;
        } else if (is(o, 'transitional')) {
          if (o.on) since = rec.i;
          else if (since >= 0) {
            m.maxTransitionalWindow = Math.max(m.maxTransitionalWindow, rec.i - since);
            since = -1;
          }
        } else if (is(o, 'dma-write')) own.add(o.page);
        else if (is(o, 'translate')) {
          m.dmaAccesses++;
          if (o.via === 'walk') m.tlbMisses++;
        } else if (is(o, 'dma-fault')) m.dmaAccesses++;
        else if (is(o, 'get-return')) {
          m.gets++;
          const over = o.bits.filter((p) => !own.has(p)).length * pageBytes;
          m.overReportedBytes += over;
          m.maxOverReportedBytes = Math.max(m.maxOverReportedBytes, over);
        } else if (is(o, 'split-step')) m.splitSteps++;
        else if (is(o, 'split-return')) {
          m.splitPagesRequested += o.requested;
          m.splitPages += o.split;
        }
      }
      if (since >= 0) m.transitionalSteps++;
    },
    result() {
      return { ...m };
    },
  };
}
