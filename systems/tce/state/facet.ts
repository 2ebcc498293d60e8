/**
 * A piece of the TCE model's shared state: plain data `d` (snapshot/restore exact, structured-
 * cloneable), observations reported through the world's port. Each piece documents, beside its
 * fields, the kernel lock or atomic discipline that protects them.
 */
import type { Observation } from '../../../core/model/effects.ts';
import type { SharedPort, SharedState } from '../../../core/model/shared.ts';
import type { TceObservations, TceObs } from '../observations.ts';

export abstract class Facet<D> implements SharedState {
  abstract readonly name: string;
  private port: SharedPort | null = null;

  constructor(public d: D) {}

  connect(port: SharedPort): void {
    this.port = port;
  }

  /** Report a state change to the monitors, filed under the actor whose step is running. */
  protected emit<K extends TceObs>(what: K, fields: TceObservations[K]): void {
    this.port?.observe({ what, ...fields } as Observation);
  }

  snapshot(): unknown {
    return structuredClone(this.d);
  }

  restore(s: unknown): void {
    this.d = structuredClone(s) as D;
  }

  canonical(): unknown {
    return this.d;
  }

  view(): unknown {
    return this.d;
  }
}
