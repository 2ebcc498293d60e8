/** Every scenario, by name. */
import { iopfScenario } from './iopf/index.ts';
import type { Scenario } from './types.ts';

export const scenarios: Record<string, Scenario> = {
  [iopfScenario.name]: iopfScenario,
};
