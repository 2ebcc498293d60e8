/**
 * What the IOPF monitors see, typed: the observations the IOPF machines and the mm make
 * (`IopfObservations`, an ObservationMap: each `what` with its fields) and the messages the
 * monitors decode (`IopfMessages`, by message type). Monitors read them through `observed`
 * (one kind), `iopfObserved` (several kinds, in step order), `sentOf` and `deliveredOf`;
 * machines build their observe effects with `iopfObservation`.
 */
import type { Envelope, StepRecord } from '../../core/model/monitor.ts';
import { type HeapObservations, observation } from '../../core/model/observations.ts';
import type { LockdepObservations } from '../../kernel/lockdep.ts';
import type { MmObservations } from '../../kernel/mm/memory.ts';
import { observing } from '../../kernel/mm/specs/observing.ts';
import type { LeakObservations } from '../../kernel/noLeak.ts';
import type { PageRequest, PageResponse } from './machines/types.ts';

/**
 * Every observation kind of an IOPF run. The heap kinds (alloc/free/use of groups, fault
 * parameters, domains, the fault object), lockdep's might-sleep/might-fault, the leak monitor's
 * destroy/release and the mm's are shared kernel vocabularies; the rest are IOPF's own.
 */
export type IopfObservations = Pick<HeapObservations, 'alloc' | 'free' | 'use'> &
  LockdepObservations &
  LeakObservations &
  MmObservations & {
    /** The IOMMU did not queue a page request: PRI disabled for a released device, or the queue overflowed. */
    'prq-dropped': { reason: 'pri-disabled' | 'overflow'; reqId: string; dev: string; grpid?: number };
    /** Entries in the page-request queue after a request was queued. */
    'prq-occupancy': { n: number; depth: number };
    /** The page-request thread dropped a PASID Stop Marker. */
    'stop-marker-dropped': { reqId: string; dev: string };
    /** A fault reported for a device no longer on the iopf queue (dropped). */
    'report-nodev': { reqId: string };
    /** A fault that is not a page request (unrecoverable): not handled by the iopf path. */
    'report-eopnotsupp': { reqId: string };
    /** A partial lost to a failed allocation. */
    'partial-lost': { reqId: string; dev: string; grpid: number };
    /** A group assembled from its partials and its last request, in the order it holds them. */
    'group-assembled': { gid: string; dev: string; grpid: number; reqIds: string[] };
    /** The report path found the attach handle (binding `gen`) of the group's PASID. */
    'attach-handle': { gid: string; dev: string; pasid: number; gen: number; bonds: number[] };
    /** Partials dropped (overflow recovery, device removal). */
    'partial-discarded': { dev: string; reqIds: string[] };
    /** A VMM write() with a cookie the fault object does not know. */
    'write-rejected': { cookie: number };
  };

export type IopfObservation = keyof IopfObservations;

/** The params of an IOPF `observe` effect, checked against IopfObservations. */
export function iopfObservation<K extends IopfObservation>(what: K, fields: IopfObservations[K]): { what: K } & IopfObservations[K] {
  return observation<IopfObservations, K>(what, fields);
}

/** Observations of several kinds in a step, in the order they were made (`switch (o.what)` narrows). */
export const iopfObserved = observing<IopfObservations>();

/** The payloads of the messages the IOPF monitors read, by type. */
export type IopfMessages = {
  PAGE_REQ: { req: PageRequest };
  PAGE_RESPONSE: { resp: PageResponse };
  REPORT_FAULT: { fault: PageRequest };
  REMOVED: Record<string, never>;
};

export type IopfEnvelope<T extends keyof IopfMessages> = Envelope & { type: T; payload: IopfMessages[T] };

/** The messages of type `type` a step sent, in order (e.g. the page requests a device issued). */
export function sentOf<T extends keyof IopfMessages>(rec: StepRecord, type: T): IopfEnvelope<T>[] {
  const out: IopfEnvelope<T>[] = [];
  for (const e of rec.sent) if (e.type === type) out.push(e as IopfEnvelope<T>);
  return out;
}

/** The message a step delivered, if it is of type `type`. */
export function deliveredOf<T extends keyof IopfMessages>(rec: StepRecord, type: T): IopfEnvelope<T> | null {
  const d = rec.delivered;
  return d?.type === type ? (d as IopfEnvelope<T>) : null;
}
