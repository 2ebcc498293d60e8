/** Every scenario, by name. */
import { iopfScenario } from './iopf/scenario.ts';
import { dirtyScenario } from './dirty/scenario.ts';
import type { Scenario } from '../core/model/scenario.ts';

export const scenarios: Record<string, Scenario> = {
  [iopfScenario.name]: iopfScenario,
  [dirtyScenario.name]: dirtyScenario,
};
