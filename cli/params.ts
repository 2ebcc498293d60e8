/** Scenario lookup (a built-in name or a user's module) and `--set key=value` parsing against the scenario's parameter specs. */
import { allowedText } from '../core/model/define.ts';
import { dirname, relative, resolve } from 'node:path';
import { scenarios } from '../systems/index.ts';
import { ScenarioModuleError, isModulePath, loadScenarioModule } from '../workers/scenarioModule.ts';
import type { Repro } from '../core/repro.ts';
import type { ParamSpec, ParamValue, Params, Scenario } from '../core/model/scenario.ts';
import { fail } from './usage.ts';
import { defaultParams } from '../core/params.ts';

export function findScenario(name: string): Scenario {
  const s = scenarios[name];
  if (!s) fail(`unknown scenario "${name}"; scenarios: ${Object.keys(scenarios).join(', ')}`);
  return s;
}

export interface ScenarioRef {
  scenario: Scenario;
  /** The user's module it came from (absolute path); absent for a built-in scenario. */
  module?: string;
}

/** A built-in scenario by name, or a user's scenario module by path (./my-scenario.ts). */
export async function resolveScenario(arg: string): Promise<ScenarioRef> {
  if (!isModulePath(arg)) return { scenario: findScenario(arg) };
  try {
    return { scenario: await loadScenarioModule(arg), module: resolve(arg) };
  } catch (e) {
    if (e instanceof ScenarioModuleError) fail(e.message);
    throw e;
  }
}

/** The scenario a repro file was written for (its module is recorded relative to the file). */
export async function scenarioOfRepro(repro: Repro, file: string): Promise<ScenarioRef> {
  if (repro.module === undefined) return { scenario: findScenario(repro.scenario) };
  const ref = await resolveScenario(resolve(dirname(file), repro.module));
  if (ref.scenario.name !== repro.scenario) fail(`${file}: the module ${repro.module} now defines scenario "${ref.scenario.name}", but the repro was written for "${repro.scenario}"`);
  return ref;
}

/** How a repro file records a module: relative to the folder the repro is written to. */
export function moduleForRepro(module: string, reproPath: string): string {
  return relative(dirname(resolve(reproPath)), module) || module;
}

export function findBug(s: Scenario, name: string | undefined): string | null {
  if (name === undefined) return null;
  if (!s.bugs.some((b) => b.name === name)) fail(`unknown bug "${name}" for scenario ${s.name}; bugs: ${s.bugs.map((b) => b.name).join(', ')}`);
  return name;
}

export const defaults = defaultParams;

export function applySets(s: Scenario, base: Params, sets: string[]): Params {
  const p = { ...base };
  for (const kv of sets) {
    const eq = kv.indexOf('=');
    if (eq <= 0) fail(`--set takes key=value, got "${kv}"; parameters: ${s.parameters.map((x) => x.name).join(', ')}`);
    const key = kv.slice(0, eq);
    const spec = s.parameters.find((x) => x.name === key);
    if (!spec) fail(`unknown parameter "${key}" for scenario ${s.name}; parameters: ${s.parameters.map((x) => x.name).join(', ')}`);
    p[key] = parseValue(spec, kv.slice(eq + 1));
  }
  return p;
}

/** Check a whole parameter object (from a repro or workload file), over `base` (default: the scenario's defaults). */
export function checkParams(s: Scenario, p: Record<string, unknown>, where: string, base: Params = defaults(s, null)): Params {
  const out = { ...base };
  for (const [k, v] of Object.entries(p)) {
    const spec = s.parameters.find((x) => x.name === k);
    if (!spec) fail(`${where}: unknown parameter "${k}" for scenario ${s.name}; parameters: ${s.parameters.map((x) => x.name).join(', ')}`);
    out[k] = parseValue(spec, String(v), where);
  }
  return out;
}

function parseValue(spec: ParamSpec, raw: string, where = '--set'): ParamValue {
  const allowed = describe(spec);
  switch (spec.type) {
    case 'boolean':
      if (raw === 'true' || raw === 'false') return raw === 'true';
      return fail(`${where} ${spec.name}: "${raw}" is not allowed; ${allowed}`);
    case 'enum':
      if (spec.values!.includes(raw)) return raw;
      return fail(`${where} ${spec.name}: "${raw}" is not allowed; ${allowed}`);
    case 'int':
    case 'number': {
      const n = raw.trim() === '' ? NaN : Number(raw);
      const ok = Number.isFinite(n) && (spec.type === 'number' || Number.isInteger(n)) && n >= (spec.min ?? -Infinity) && n <= (spec.max ?? Infinity);
      if (!ok) fail(`${where} ${spec.name}: "${raw}" is not allowed; ${allowed}`);
      return n;
    }
  }
}

/** What a parameter allows, in words: the scenario definitions' own wording (core/model/define.ts). */
export const describe = allowedText;
