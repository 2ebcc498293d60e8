/** A scenario's parameters: its defaults, then what a variant needs to be reachable. */
import type { Params, Scenario } from './model/scenario.ts';

export function defaultParams(s: Scenario, bug: string | null = null): Params {
  const p: Params = Object.fromEntries(s.parameters.map((x) => [x.name, x.default]));
  return { ...p, ...(s.bugs.find((b) => b.name === bug)?.params ?? {}) };
}
