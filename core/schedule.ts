/**
 * A schedule: the seed plus the versioned list of choices a run made, scheduling and data
 * alike. It is all replay needs besides the scenario configuration.
 */
import type { DataChoice } from './dataSource.ts';

export const SCHEDULE_VERSION = 1;

export interface Schedule {
  version: typeof SCHEDULE_VERSION;
  /** The run seed (not the exploration seed). */
  seed: number;
  /** Step keys, one per step. */
  choices: string[];
  /** Data choices in the order the model drew them. */
  data: DataChoice[];
}
