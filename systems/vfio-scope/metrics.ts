/**
 * Costs and counters of a run, from its observations: what the design alternatives trade.
 *   scopeVisits{Pin,Get,Attach,Detach,Join}  groups visited by the scope walk (bool, walk designs)
 *   pins / gets / dmaReports                 vfio_pin_pages calls, GET_BITMAP calls, dma reports
 *   overReportBits                           reported bits with no write owed (over-report)
 *   lostDirty                                owed pages missing from a report (no-lost-dirty, counted)
 *   spuriousEinval                           pins refused by the singleton check
 *   joinsRefused / joinsOk / scopeResets      the join side of the singleton designs
 *   populateFull                             vfio_iommu_populate_bitmap_full calls
 *   iommuHoldSteps / iommuHolds              steps iommu->lock was held, and how many holds
 */
import type { StepRecord } from '../../core/model/monitor.ts';
import { type Ledger, ledgerStep, newLedger } from './specs/noLostDirty.ts';
import { IOMMU_LOCK } from './types.ts';

const KEYS = [
  'scopeVisitsPin',
  'scopeVisitsGet',
  'scopeVisitsAttach',
  'scopeVisitsDetach',
  'pins',
  'gets',
  'dmaReports',
  'overReportBits',
  'lostDirty',
  'spuriousEinval',
  'joinsRefused',
  'joinsOk',
  'scopeResets',
  'populateFull',
  'iommuHoldSteps',
  'iommuHolds',
  'dirtyWrites',
] as const;

export function vfioScopeObserver(): { onStep(rec: StepRecord): void; result(): Record<string, number> } {
  const m: Record<string, number> = Object.fromEntries(KEYS.map((k) => [k, 0]));
  const ledger: Ledger = newLedger();
  const since: Record<string, number> = {};
  return {
    onStep(rec) {
      for (const o of rec.obs) {
        switch (o.what) {
          case 'scope-visit': {
            const by = String(o.by);
            const key = `scopeVisits${by[0].toUpperCase()}${by.slice(1)}`;
            m[key] = (m[key] ?? 0) + Number(o.n);
            break;
          }
          case 'pin-ok':
          case 'pin-fail':
            m.pins++;
            if (o.what === 'pin-fail' && o.err === 'singleton') m.spuriousEinval++;
            break;
          case 'get-done':
            m.gets++;
            break;
          case 'join':
            if (o.result === 'ok') m.joinsOk++;
            else m.joinsRefused++;
            break;
          case 'scope-change':
            if (o.cause === 'join') m.scopeResets++;
            break;
          case 'populate-full':
            m.populateFull++;
            break;
          case 'dirty-write':
            if (o.tracking) m.dirtyWrites++;
            break;
        }
      }
      for (const c of ledgerStep(ledger, rec)) {
        m.dmaReports++;
        m.overReportBits += c.extra;
        m.lostDirty += c.missing.length;
      }
      for (const e of rec.locks) {
        if (e.lock !== IOMMU_LOCK) continue;
        if (e.op === 'acquire') since[e.by] = rec.i;
        else if (since[e.by] !== undefined) {
          m.iommuHoldSteps += rec.i - since[e.by] + 1;
          m.iommuHolds++;
          delete since[e.by];
        }
      }
    },
    result() {
      return { ...m };
    },
  };
}

/** Means over an exploration, from the summed counters. */
export function deriveVfioScope(t: Record<string, number>): Record<string, number> {
  const r = (a: number, b: number) => (b ? Math.round((a / b) * 100) / 100 : 0);
  return {
    visitsPerPin: r(t.scopeVisitsPin ?? 0, t.pins ?? 0),
    visitsPerGet: r(t.scopeVisitsGet ?? 0, t.gets ?? 0),
    overReportPerGet: r(t.overReportBits ?? 0, t.gets ?? 0),
    meanIommuHold: r(t.iommuHoldSteps ?? 0, t.iommuHolds ?? 0),
  };
}
