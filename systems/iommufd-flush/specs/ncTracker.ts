/**
 * What the non-coherent monitors know about each page frame, built only from observations, in the
 * order they happened (cache ticks): how many non-coherent IOPTEs map it now, whether it was
 * non-coherently mapped since its pin count last went 0 -> 1, when it was last unmapped from a
 * non-coherent domain, last flushed and last written by a CPU, and the last H-fill decision.
 *
 * The judges below are shared by the monitors (first violation fails the run) and the cost
 * observer (which counts them, `costMode`).
 */
import type { CacheObservations } from '../../../kernel/cpuCache.ts';
import { OWNER_BASE } from '../../../kernel/cpuCache.ts';
import type { ActorObservation } from '../../../core/model/monitor.ts';
import type { FlushObservations } from '../types.ts';

export interface PfnFacts {
  ncReach: number;
  ncEver: boolean;
  lastNcUnmap: number;
  flushedAt: number;
  writtenAt: number;
  lastFill: string | null;
}

export type NcState = Record<number, PfnFacts>;

type Obs<K extends keyof (FlushObservations & CacheObservations)> = (FlushObservations & CacheObservations)[K] & { what: K; actor: string };

const NEVER = -2;

export function facts(s: NcState, pfn: number): PfnFacts {
  return (s[pfn] ??= { ncReach: 0, ncEver: false, lastNcUnmap: -Infinity, flushedAt: NEVER, writtenAt: -1, lastFill: null });
}

/** Fold one observation into the per-pfn facts. */
export function track(s: NcState, o: ActorObservation): void {
  switch (o.what) {
    case 'iommu-map': {
      const m = o as unknown as Obs<'iommu-map'>;
      if (!m.nc) return;
      const f = facts(s, m.pfn);
      f.ncReach++;
      f.ncEver = true;
      return;
    }
    case 'iommu-unmap': {
      const m = o as unknown as Obs<'iommu-unmap'>;
      if (!m.nc) return;
      const f = facts(s, m.pfn);
      f.ncReach--;
      f.lastNcUnmap = m.tick;
      return;
    }
    case 'pin': {
      const m = o as unknown as Obs<'pin'>;
      if (m.countAfter === 1) facts(s, m.pfn).ncEver = false;
      return;
    }
    case 'flush':
      facts(s, (o as unknown as Obs<'flush'>).pfn).flushedAt = (o as unknown as Obs<'flush'>).tick;
      return;
    case 'cpu': {
      const m = o as unknown as Obs<'cpu'>;
      if (m.kind === 'write') facts(s, m.pfn).writtenAt = m.tick;
      return;
    }
    case 'flush-decision': {
      const m = o as unknown as Obs<'flush-decision'>;
      if (m.hook === 'fill') facts(s, m.pfn).lastFill = `${m.decision} (${m.reason})`;
      return;
    }
  }
}

const lineText = (l: { dirty: boolean; v: number; since: number } | null) => (l ? `${l.dirty ? 'dirty' : 'clean'} line v${l.v} since tick ${l.since}` : 'no line');

/** nc-flush-before-map: a page first made reachable by a non-coherent domain with an old dirty line. */
export function judgeMap(s: NcState, o: ActorObservation): string | null {
  if (o.what !== 'iommu-map') return null;
  const m = o as unknown as Obs<'iommu-map'>;
  if (!m.nc || !m.line?.dirty || m.line.since >= m.opStart) return null;
  const f = facts(s, m.pfn);
  if (f.ncReach > 0) return null;
  return `pfn ${m.pfn} (${m.pages}[${m.idx}]) mapped into non-coherent ${m.dom} at iova ${m.iova} by ${m.actor} (${m.op}) with a ${lineText(m.line)}, written before the ioctl began (tick ${m.opStart}): memory holds older data, which a no-snoop read sees. H-fill decision: ${f.lastFill ?? 'none'}`;
}

/** nc-no-stale-read: a no-snoop read returns the previous owner's data. */
export function judgeRead(o: ActorObservation): string | null {
  if (o.what !== 'dma') return null;
  const m = o as unknown as Obs<'dma'> & { dev?: string; dom?: string; iova?: number; pages?: string; idx?: number };
  if (m.kind !== 'read' || m.snoop || m.ret >= OWNER_BASE) return null;
  return `${m.dev} read pfn ${m.pfn} (${m.pages}[${m.idx}]) through non-coherent ${m.dom} at iova ${m.iova} without snooping: memory v${m.ret} is the previous owner's data while the CPU holds a ${lineText(m.line)} (the host's data was never written back)`;
}

/** nc-clean-at-unpin: a line older than the last non-coherent unmap survives the last unpin. */
export function judgeUnpin(s: NcState, o: ActorObservation): string | null {
  if (o.what !== 'unpin') return null;
  const m = o as unknown as Obs<'unpin'>;
  if (m.error || m.countAfter !== 0 || !m.line) return null;
  const f = facts(s, m.pfn);
  if (!f.ncEver || m.line.since >= f.lastNcUnmap) return null;
  return `pfn ${m.pfn} (${m.pages}[${m.idx}]) unpinned by ${m.actor} (${m.path}) with a ${lineText(m.line)}, older than its last non-coherent unmap (tick ${f.lastNcUnmap}); it was last flushed at ${f.flushedAt < 0 ? 'never' : `tick ${f.flushedAt}`}: the next owner reads ${m.line.dirty ? 'lines that overwrite the device\'s writes' : 'a stale line'}`;
}

/** nc-skip-only-if-flushed: a skipped flush where that very page is not known flushed. */
export function judgeSkip(s: NcState, o: ActorObservation): string | null {
  if (o.what !== 'flush-decision') return null;
  const m = o as unknown as Obs<'flush-decision'>;
  if (m.decision !== 'skip') return null;
  const f = facts(s, m.pfn);
  if (m.hook === 'fill') {
    if (!m.nc || f.ncReach > 0 || f.flushedAt > f.writtenAt) return null;
    return `${m.actor} skipped the flush of pfn ${m.pfn} (${m.pages}[${m.idx}]) before a non-coherent map because "${m.reason}", but the page is in no non-coherent domain and was ${f.flushedAt < 0 ? 'never flushed' : `last flushed at tick ${f.flushedAt}`}, ${f.writtenAt < 0 ? "not written by a CPU in this run (a line may still hold the host's initialisation)" : `last written by a CPU at tick ${f.writtenAt}`}`;
  }
  if (m.hook === 'unpin') {
    // Only the last pin matters: while another iopt_pages pins the page it is not released.
    if (!m.last || !f.ncEver || f.lastNcUnmap === -Infinity || f.flushedAt > f.lastNcUnmap) return null;
    return `${m.actor} skipped the flush of pfn ${m.pfn} (${m.pages}[${m.idx}]) before unpinning it because "${m.reason}", but it was non-coherently mapped in this pin lifetime (last unmapped at tick ${f.lastNcUnmap}) and ${f.flushedAt < 0 ? 'never flushed' : `last flushed at tick ${f.flushedAt}`}`;
  }
  return null;
}
