/**
 * no-lost-dirty (the property migration depends on): every page written by an attached device
 * (hardware DMA, a CPU write to a pinned page, vfio_dma_rw) while tracking is in the next report
 * of its dma (GET_BITMAP, or UNMAP with GET_DIRTY_BITMAP). A write is owed to the reports of its
 * dma instance that come after it; a report of that instance must contain it and then settles
 * every write owed before it. Nothing is owed when the write was made while not tracking, once
 * tracking stops, or when the dma goes without a report (UNMAP without the flag, unmap_unpin_all).
 * A write still owed at the end of the run (no later report) is not a violation.
 */
import { type Monitor, type StepRecord, stateful } from '../../../core/model/monitor.ts';
import type { VfioObs } from '../types.ts';

export interface Owed {
  step: number;
  dev: string;
  via: string;
}

/** Writes owed to the reports, by dma instance and page index. Plain data. */
export interface Ledger {
  tracking: boolean;
  owed: Record<string, Record<string, Owed>>;
}

export function newLedger(): Ledger {
  return { tracking: false, owed: {} };
}

export interface ReportCheck {
  report: VfioObs['bitmap-report'];
  missing: { idx: number; owed: Owed }[];
  /** Reported bits with no write owed (over-report). */
  extra: number;
}

/** Apply a step's observations to the ledger; every report is checked and returned. */
export function ledgerStep(l: Ledger, rec: StepRecord): ReportCheck[] {
  const out: ReportCheck[] = [];
  for (const o of rec.obs) {
    switch (o.what) {
      case 'tracking':
        l.tracking = Boolean(o.on);
        if (!l.tracking) l.owed = {};
        break;
      case 'dirty-write': {
        const w = o as unknown as VfioObs['dirty-write'];
        if (!w.tracking) break;
        (l.owed[w.inst] ??= {})[String(w.idx)] ??= { step: rec.i, dev: w.dev, via: w.via };
        break;
      }
      case 'dma-removed':
        if (!o.reported) delete l.owed[String(o.inst)];
        break;
      case 'bitmap-report': {
        const r = o as unknown as VfioObs['bitmap-report'];
        const owed = l.owed[r.inst] ?? {};
        const missing = Object.entries(owed)
          .filter(([idx]) => !r.bits.includes(Number(idx)))
          .map(([idx, ow]) => ({ idx: Number(idx), owed: ow }));
        const extra = r.bits.filter((b) => owed[String(b)] === undefined).length;
        delete l.owed[r.inst];
        out.push({ report: r, missing, extra });
        break;
      }
    }
  }
  return out;
}

export const noLostDirty: Monitor = {
  name: 'no-lost-dirty',
  description: 'every page an attached device wrote while tracking is in the next dirty report of its dma',
  kind: 'safety',
  observes: ['obs:tracking', 'obs:dirty-write', 'obs:dma-removed', 'obs:bitmap-report'],
  create() {
    return stateful(newLedger(), {
      onStep(l, rec) {
        for (const c of ledgerStep(l, rec)) {
          if (c.missing.length === 0) continue;
          const m = c.missing[0];
          const r = c.report;
          return {
            message: `page ${r.inst}:${m.idx} (dma ${r.dma}) written by ${m.owed.dev} via ${m.owed.via} at step ${m.owed.step} is missing from the ${r.op === 'get' ? 'GET_BITMAP' : 'UNMAP_DMA GET_DIRTY_BITMAP'} report at step ${rec.i} (reported bits [${r.bits.join(',')}] of ${r.nbits})${c.missing.length > 1 ? `; ${c.missing.length - 1} more page(s) missing` : ''}`,
            actors: [rec.actor, m.owed.dev],
            messages: [],
          };
        }
        return null;
      },
    });
  },
};
