/**
 * `defineScenario`: how a system (built in, or a user's own module loaded by
 * `pagerace explore ./my-scenario.ts`) declares its scenario. It fills the optional parts and
 * checks the whole declaration, naming the first problem in one line, so that a mistake in a
 * user's module is reported as bad input before any run, never as a crash inside one.
 */
import type { Monitor } from './monitor.ts';
import type { BugVariant, ParamSpec, Scenario } from './scenario.ts';

export class ScenarioError extends Error {}

/** A scenario as a module writes it: description, bugs, monitors, stepEstimate and metrics may be left out. */
export type ScenarioDefinition<W = unknown> = Omit<Scenario<W>, 'description' | 'bugs' | 'monitors' | 'stepEstimate' | 'metrics'> &
  Partial<Pick<Scenario<W>, 'description' | 'bugs' | 'monitors' | 'stepEstimate' | 'metrics'>>;

export function defineScenario<W = unknown>(d: ScenarioDefinition<W>): Scenario<W> {
  const s: Scenario<W> = { description: '', bugs: [], monitors: [], stepEstimate: () => 100, metrics: () => ({}), ...d };
  checkScenario(s);
  return s;
}

const NAME = /^[a-z][a-z0-9-]{0,63}$/;
const PARAM = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

const show = (v: unknown): string => {
  try {
    const t = typeof v === 'string' ? JSON.stringify(v) : typeof v === 'function' ? 'a function' : JSON.stringify(v) ?? String(v);
    return t.length > 60 ? `${t.slice(0, 57)}...` : t;
  } catch {
    return String(typeof v);
  }
};

/** Throws ScenarioError naming the first problem ("scenario "x": parameters[2].default: ..."). */
export function checkScenario(x: unknown): asserts x is Scenario {
  let where = 'scenario';
  const bad = (field: string, value: unknown, allowed: string): never => {
    throw new ScenarioError(`${where}: ${field}: ${show(value)} is not allowed; ${allowed}`);
  };
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new ScenarioError(`scenario: ${show(x)} is not a scenario; export default defineScenario({ name, parameters, build, ... })`);
  const s = x as Record<string, unknown>;
  if (typeof s.name !== 'string' || !NAME.test(s.name)) bad('name', s.name, 'lower-case letters, digits and dashes, starting with a letter');
  where = `scenario "${s.name as string}"`;
  if (typeof s.description !== 'string') bad('description', s.description, 'a string');
  for (const f of ['build', 'stepEstimate', 'metrics'] as const) if (typeof s[f] !== 'function') bad(f, s[f], 'a function');
  for (const f of ['observer', 'derive'] as const) if (s[f] !== undefined && typeof s[f] !== 'function') bad(f, s[f], 'a function or absent');

  if (!Array.isArray(s.parameters)) bad('parameters', s.parameters, 'a list of parameter specs');
  const params = new Map<string, ParamSpec>();
  (s.parameters as unknown[]).forEach((p, i) => {
    const spec = checkParamSpec(p, `parameters[${i}]`, bad);
    if (params.has(spec.name)) bad(`parameters[${i}].name`, spec.name, 'a name no other parameter has');
    params.set(spec.name, spec);
  });

  if (!Array.isArray(s.monitors)) bad('monitors', s.monitors, 'a list of monitors');
  const monitors = new Set<string>();
  (s.monitors as unknown[]).forEach((m, i) => {
    const at = `monitors[${i}]`;
    if (typeof m !== 'object' || m === null) return bad(at, m, 'a monitor { name, description, kind, observes, create }');
    const mon = m as Partial<Monitor>;
    if (typeof mon.name !== 'string' || !NAME.test(mon.name) || monitors.has(mon.name)) bad(`${at}.name`, mon.name, 'a unique name: lower-case letters, digits and dashes');
    if (typeof mon.description !== 'string') bad(`${at}.description`, mon.description, 'a string');
    if (mon.kind !== 'safety' && mon.kind !== 'liveness') bad(`${at}.kind`, mon.kind, 'safety or liveness');
    if (!Array.isArray(mon.observes) || !mon.observes.every((o) => typeof o === 'string')) bad(`${at}.observes`, mon.observes, 'a list of message types, "obs:<what>" or "locks"');
    if (typeof mon.create !== 'function') bad(`${at}.create`, mon.create, 'a function returning the monitor instance');
    monitors.add(mon.name!);
  });

  if (!Array.isArray(s.bugs)) bad('bugs', s.bugs, 'a list of bug variants');
  const bugs = new Set<string>();
  (s.bugs as unknown[]).forEach((b, i) => {
    const at = `bugs[${i}]`;
    if (typeof b !== 'object' || b === null) return bad(at, b, 'a variant { name, summary, reference, caughtBy }');
    const bug = b as Partial<BugVariant>;
    if (typeof bug.name !== 'string' || !NAME.test(bug.name) || bugs.has(bug.name)) bad(`${at}.name`, bug.name, 'a unique name: lower-case letters, digits and dashes');
    bugs.add(bug.name!);
    if (typeof bug.summary !== 'string') bad(`${at}.summary`, bug.summary, 'a string');
    if (typeof bug.reference !== 'string') bad(`${at}.reference`, bug.reference, 'a string (commit, thread, or "derived")');
    if (!Array.isArray(bug.caughtBy)) bad(`${at}.caughtBy`, bug.caughtBy, `a list of monitor names (${[...monitors].join(', ') || 'none declared'})`);
    bug.caughtBy!.forEach((m, j) => {
      if (typeof m !== 'string' || !monitors.has(m)) bad(`${at}.caughtBy[${j}]`, m, `one of the scenario's monitors: ${[...monitors].join(', ') || 'none declared'}`);
    });
    if (bug.params !== undefined) {
      if (typeof bug.params !== 'object' || bug.params === null) bad(`${at}.params`, bug.params, 'an object of parameter values');
      for (const [k, v] of Object.entries(bug.params!)) {
        const spec = params.get(k);
        if (!spec) bad(`${at}.params`, k, `a parameter of the scenario: ${[...params.keys()].join(', ') || 'none declared'}`);
        if (!fits(spec!, v)) bad(`${at}.params.${k}`, v, allowedText(spec!));
      }
    }
    if (bug.provide !== undefined && (typeof bug.provide !== 'object' || bug.provide === null)) bad(`${at}.provide`, bug.provide, 'an object: actor kind -> { guards, actions }');
  });

  if (s.workload !== undefined) {
    const w = s.workload as Record<string, unknown> | null;
    if (typeof w !== 'object' || w === null) bad('workload', w, 'an object { schema, draw, vocabulary } or absent');
    const schema = w!.schema as Record<string, unknown> | null | undefined;
    const std = typeof schema === 'object' && schema !== null ? (schema['~standard'] as Record<string, unknown> | undefined) : undefined;
    if (!std || typeof std.validate !== 'function') bad('workload.schema', schema, 'a Standard Schema (valibot, zod or arktype schema)');
    if (typeof w!.draw !== 'function') bad('workload.draw', w!.draw, 'a function (params, data) => workload');
    for (const f of ['check', 'implies'] as const) if (w![f] !== undefined && typeof w![f] !== 'function') bad(`workload.${f}`, w![f], 'a function or absent');
    if (typeof w!.vocabulary !== 'string') bad('workload.vocabulary', w!.vocabulary, 'a sentence describing the workload fields');
  }
  if (s.modes !== undefined && (typeof s.modes !== 'object' || s.modes === null)) bad('modes', s.modes, 'execution modes or absent');
}

function checkParamSpec(p: unknown, at: string, bad: (f: string, v: unknown, a: string) => never): ParamSpec {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return bad(at, p, 'a parameter { name, description, type, default, ... }');
  const spec = p as Partial<ParamSpec>;
  if (typeof spec.name !== 'string' || !PARAM.test(spec.name)) bad(`${at}.name`, spec.name, 'letters, digits and _, starting with a letter');
  if (typeof spec.description !== 'string') bad(`${at}.description`, spec.description, 'a string');
  switch (spec.type) {
    case 'int':
    case 'number': {
      const ok = (n: unknown) => typeof n === 'number' && Number.isFinite(n) && (spec.type === 'number' || Number.isInteger(n));
      if (!ok(spec.min)) bad(`${at}.min`, spec.min, spec.type === 'int' ? 'a whole number' : 'a finite number');
      if (!ok(spec.max) || spec.max! < spec.min!) bad(`${at}.max`, spec.max, `${spec.type === 'int' ? 'a whole number' : 'a finite number'} >= min (${spec.min})`);
      break;
    }
    case 'enum':
      if (!Array.isArray(spec.values) || spec.values.length === 0 || !spec.values.every((v) => typeof v === 'string') || new Set(spec.values).size !== spec.values.length) {
        bad(`${at}.values`, spec.values, 'a non-empty list of distinct strings');
      }
      break;
    case 'boolean':
      break;
    default:
      bad(`${at}.type`, spec.type, 'int, number, boolean or enum');
  }
  if (!fits(spec as ParamSpec, spec.default)) bad(`${at}.default`, spec.default, allowedText(spec as ParamSpec));
  return spec as ParamSpec;
}

function fits(spec: ParamSpec, v: unknown): boolean {
  switch (spec.type) {
    case 'boolean':
      return typeof v === 'boolean';
    case 'enum':
      return typeof v === 'string' && spec.values!.includes(v);
    case 'int':
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) && (spec.type === 'number' || Number.isInteger(v)) && v >= spec.min! && v <= spec.max!;
  }
}

/** What a parameter allows, in words (scenario checks, `--set` errors, `list`). */
export function allowedText(spec: ParamSpec): string {
  switch (spec.type) {
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${spec.values!.join(', ')}`;
    case 'int':
      return `a whole number from ${spec.min} to ${spec.max}`;
    case 'number':
      return `a number from ${spec.min} to ${spec.max}`;
  }
}
