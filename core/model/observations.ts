/**
 * Typed observations. A system declares the observations it makes as a map from `what` to the
 * fields it carries (e.g. `{ 'group-assembled': { gid: string; ... } }`); monitors read a step's
 * observations of one kind through `observed`, typed by that map, instead of casting.
 *
 * The heap vocabulary is the engine's, shared by every system: `alloc`, `free`, `use` of a named
 * object, and `get`/`put` of a reference on it. A leak or use-after-free monitor written once over
 * these works in every system.
 */
import type { StepRecord } from './monitor.ts';

export type ObservationMap = Record<string, object>;

/** One observation of kind K as it appears in a step record. */
export type Observed<M extends ObservationMap, K extends keyof M & string> = M[K] & { what: K; actor: string; seq: number };

/** The observations of kind `what` in a step, typed by the system's map. */
export function observed<M extends ObservationMap, K extends keyof M & string>(rec: StepRecord, what: K): Observed<M, K>[] {
  const out: Observed<M, K>[] = [];
  for (const o of rec.obs) if (o.what === what) out.push(o as unknown as Observed<M, K>);
  return out;
}

/** The params of an `observe` effect of kind K, typed by the system's map. */
export function observation<M extends ObservationMap, K extends keyof M & string>(what: K, fields: M[K]): { what: K } & M[K] {
  return { what, ...fields };
}

/**
 * The heap: every object the model allocates or refcounts is named (`obj`), e.g. "group:dev0#3".
 * `by` names the kernel path. `owner` (on alloc and get) names who holds the object or reference.
 */
export interface HeapObservations {
  alloc: { obj: string; owner?: string; by?: string };
  free: { obj: string; by?: string };
  use: { obj: string; by?: string };
  get: { obj: string; owner?: string; by?: string };
  put: { obj: string; owner?: string; by?: string };
  [what: string]: object;
}
