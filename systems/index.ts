/** Every scenario, by name. */
import { iopfScenario } from './iopf/scenario.ts';
import { vfioScopeScenario } from './vfio-scope/index.ts';
import type { Scenario } from '../core/model/scenario.ts';

export const scenarios: Record<string, Scenario> = {
  [iopfScenario.name]: iopfScenario,
  [vfioScopeScenario.name]: vfioScopeScenario,
};
