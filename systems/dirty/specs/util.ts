/** Helpers the `dirty` monitors share: typed observations and a step's events in the order they happened. */
import type { LockEvent } from '../../../core/model/locks.ts';
import type { ActorObservation, StepRecord } from '../../../core/model/monitor.ts';
import type { Observed } from '../../../core/model/observations.ts';
import type { DirtyObsMap } from '../observations.ts';

export type Obs<K extends keyof DirtyObsMap & string> = Observed<DirtyObsMap, K>;

/** The step's observations and lock events merged in `seq` order. */
export function events(rec: StepRecord): ({ obs: ActorObservation } | { lock: LockEvent })[] {
  const out: { seq: number; e: { obs: ActorObservation } | { lock: LockEvent } }[] = [];
  rec.obs.forEach((o) => out.push({ seq: o.seq, e: { obs: o } }));
  rec.locks.forEach((l, i) => out.push({ seq: l.seq ?? 1e9 + i, e: { lock: l } }));
  return out.sort((a, b) => a.seq - b.seq).map((x) => x.e);
}

/** Narrow an observation to its typed form. */
export function is<K extends keyof DirtyObsMap & string>(o: ActorObservation, what: K): o is ActorObservation & Obs<K> {
  return o.what === what;
}

export function pagesOf(start: number, size: number): number[] {
  const out: number[] = [];
  for (let i = start; i < start + size; i++) out.push(i);
  return out;
}

export function verdict(message: string, actors: string[]) {
  return { message, actors, messages: [] as number[] };
}

export function rangeText(iova: number, pages: number): string {
  return `[${iova},${iova + pages})`;
}
