/**
 * Hand-written workloads. A scenario that separates what its actors do (which requests, ioctls,
 * DMA writes, in which order per actor: the data choices of the workload) from building the world
 * declares a `workload`: the engine then draws one per run with `draw` and hands it to `build`, or
 * hands `build` a fixed one (`pagerace explore --workload FILE`), while the schedule, and the data
 * choices made during the run (allocation failures, ...), are still explored.
 *
 * The schema is any Standard Schema (valibot, zod, arktype implement it): its output is the
 * workload `build` takes. docs/own-system.md ("Hand-written workloads") shows how a system plugs in.
 */
import type { DataPort } from './kind.ts';
import type { Params } from './scenario.ts';

/** Standard Schema v1 (standardschema.dev): copied, as its authors intend, so the API has no dependency. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

export type StandardResult<Output> = { readonly value: Output; readonly issues?: undefined } | { readonly issues: ReadonlyArray<StandardIssue> };

export interface StandardIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

export interface WorkloadSpec<W = unknown> {
  /** What a workload file's "workload" field must be; its output is what `build` takes. */
  schema: StandardSchemaV1<unknown, W>;
  /** A workload drawn from the run's data source (labelled choices, recorded in the schedule). */
  draw(params: Params, data: DataPort): W;
  /** Parameters a workload decides (how many actors of each kind): applied before the user's own. */
  implies?(workload: W): Params;
  /** Checks that need the parameters (how many actors, ranges): one line naming the problem, or null. */
  check?(workload: W, params: Params): string | null;
  /** The vocabulary in a sentence or two, for `pagerace list` (the system's doc has the rest). */
  vocabulary: string;
}
