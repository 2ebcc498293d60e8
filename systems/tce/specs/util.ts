/** Helpers shared by the TCE monitors. */
import type { QuiescenceView, StepRecord, Verdict } from '../../../core/model/monitor.ts';
import { observed, type Observed } from '../../../core/model/observations.ts';
import type { TceObservations, TceObs } from '../observations.ts';
import { DEVMEM_PFN } from '../state/types.ts';

export const obsOf = <K extends TceObs>(rec: StepRecord, what: K): Observed<TceObservations, K>[] => observed<TceObservations, K>(rec, what);

/** Every observation of a step in order, typed loosely (monitors that follow several kinds in sequence). */
export function inOrder(rec: StepRecord): (TceObservations[TceObs] & { what: TceObs; actor: string; seq: number })[] {
  return [...rec.obs].sort((a, b) => a.seq - b.seq) as never;
}

export const verdict = (message: string, actors: string[] = []): Verdict => ({ message, actors, messages: [] });

/** The thread actors (everything but the RCU helper) have run all their operations. */
export function allDone(q: QuiescenceView): boolean {
  return Object.values(q.actors).every((a) => a.kind === 'tce.rcu' || a.context.done === true);
}

export function isDevmem(pfn: number): boolean {
  return pfn >= DEVMEM_PFN && pfn < DEVMEM_PFN + 100;
}

export const entryKey = (table: string, index: number) => `${table}#${index}`;
