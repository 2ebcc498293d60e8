/** Every scenario, by name. */
import { iopfScenario } from './iopf/scenario.ts';
import { dirtyScenario } from './dirty/scenario.ts';
import { flushScenario } from './iommufd-flush/scenario.ts';
import { vfioScopeScenario } from './vfio-scope/index.ts';
import type { Scenario } from '../core/model/scenario.ts';

export const scenarios: Record<string, Scenario> = {
  [iopfScenario.name]: iopfScenario,
  [dirtyScenario.name]: dirtyScenario,
  [flushScenario.name]: flushScenario,
  [vfioScopeScenario.name]: vfioScopeScenario,
};
