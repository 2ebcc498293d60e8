/**
 * Shared state: the kernel structures that threads of control work on directly rather than by
 * message (an mm, an io-pgtable and its TLB, a TCE table, CPU cache lines, pin counts). A scenario
 * declares its pieces by name; the world hands them to steps (`Ports.shared`) and to enabledness
 * checks (`WorldView.shared`), files their observations under the step that caused them, and
 * snapshots, restores and hashes them with the rest of the world.
 */
import type { Observation } from './effects.ts';

export interface SharedPort {
  /** Report an observation; the world files it under the actor whose step is running. */
  observe(o: Observation): void;
}

export interface SharedState {
  readonly name: string;
  /** Everything that decides behaviour, as plain data: `restore(snapshot())` changes nothing. */
  snapshot(): unknown;
  restore(s: unknown): void;
  /**
   * What the world hash covers (default: `snapshot()`): leave out counters that do not change
   * behaviour (allocation sequence numbers, statistics), so equal states hash equal.
   */
  canonical?(): unknown;
  /** Called once by the world before the first step: where this piece's observations go. */
  connect?(port: SharedPort): void;
  /** Observations describing the state at the start (e.g. the initial address space), filed under step 0. */
  announce?(): void;
  /** A small JSON view for the inspector and quiescence monitors. */
  view?(): unknown;
}
