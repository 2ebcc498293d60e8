/**
 * Observations of several kinds in one step, in the order they were made, typed by an
 * observation map: `const mmObserved = observing<MmObservations>()`, then
 * `for (const o of mmObserved(rec, 'vma-alloc', 'vma-free')) switch (o.what) { ... }` narrows
 * each one. `observed` (core/model/observations.ts) gives the observations of one kind; a monitor
 * whose verdict depends on the order of different kinds within a step (a use before a free, a
 * PTE set before a zap) needs them interleaved as they happened.
 *
 * Generic over the map: it belongs next to `observed` in core/model/observations.ts, and lives
 * here until core takes it (the mm monitors and the IOPF monitors share it).
 */
import type { StepRecord } from '../../../core/model/monitor.ts';
import type { ObservationMap, Observed } from '../../../core/model/observations.ts';

/** One observation of any of the kinds K (a union discriminated by `what`). */
export type ObservedOf<M extends ObservationMap, K extends keyof M & string> = K extends unknown ? Observed<M, K> : never;

export function observing<M extends ObservationMap>() {
  return <K extends keyof M & string>(rec: StepRecord, ...kinds: K[]): ObservedOf<M, K>[] => {
    const out: ObservedOf<M, K>[] = [];
    for (const o of rec.obs) if ((kinds as string[]).includes(o.what)) out.push(o as unknown as ObservedOf<M, K>);
    return out;
  };
}
