/**
 * Workload files (`explore --workload FILE.json`): what each actor does, written by hand.
 *
 *   { "scenario": "iopf", "description": "...", "parameters": { ... }, "workload": { ... } }
 *
 * The envelope is checked here; "workload" by the scenario's own schema (any Standard Schema; the
 * built-in systems use valibot), then against the parameters by the scenario's `check`. The
 * first problem is one line naming the field, the value and what is allowed.
 */
import { readFileSync } from 'node:fs';
import * as v from 'valibot';
import type { Params, Scenario } from '../core/model/scenario.ts';
import type { StandardIssue } from '../core/model/workload.ts';
import type { Repro } from '../core/repro.ts';
import { checkParams } from './params.ts';
import { fail } from './usage.ts';

export interface WorkloadFile {
  path: string;
  scenario: string;
  description?: string;
  parameters: Record<string, unknown>;
  /** As written; `fixWorkload` validates it against the scenario. */
  workload: unknown;
}

const FIELDS = ['scenario', 'description', 'parameters', 'workload'];
const envelope = v.strictObject(
  {
    scenario: v.pipe(v.string(), v.regex(/^[A-Za-z][\w.-]*$/)),
    description: v.optional(v.string()),
    parameters: v.optional(v.record(v.string(), v.union([v.number(), v.boolean(), v.string()])), {}),
    workload: v.unknown(),
  },
  (issue) => (issue.expected === 'never' ? `unknown field ${issue.received}; a workload file has the fields ${FIELDS.join(', ')}` : issue.message),
);

/** Read and check a workload file's envelope (not yet its workload, which needs the scenario). */
export function readWorkloadFile(path: string): WorkloadFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail(`cannot read workload file ${path}: ${code === 'ENOENT' ? 'no such file' : code ?? String(e)}`);
  }
  return parseWorkloadFile(text, path);
}

export function parseWorkloadFile(text: string, path: string): WorkloadFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return fail(`${path} is not valid JSON (${firstLine((e as Error).message)}); a workload file is {"scenario": NAME, "workload": {...}}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(`${path}: not a workload file (expected a JSON object {"scenario": NAME, "workload": {...}})`);
  const r = v.safeParse(envelope, raw);
  if (!r.success) return fail(`${path}: ${issueLine(r.issues[0] as unknown as StandardIssue, '')}`);
  if (!('workload' in (raw as object))) fail(`${path}: field "workload" is missing; a workload file is {"scenario": NAME, "workload": {...}} (see the scenario's doc for its vocabulary)`);
  return { path, scenario: r.output.scenario, description: r.output.description, parameters: r.output.parameters, workload: r.output.workload };
}

/**
 * The scenario's workload from a file, and the parameters for it: the scenario's defaults (with
 * the variant's), what the workload implies (how many devices...), the file's "parameters", then
 * `--set` (applied by the caller, which then calls `checkFixedWorkload`).
 */
export async function fixWorkload(s: Scenario, file: WorkloadFile, base: Params): Promise<{ workload: unknown; params: Params }> {
  if (!s.workload) fail(`${file.path}: scenario ${s.name} has no workload vocabulary, so its workload cannot be written by hand`);
  const workload = await validateWorkload(s, file.workload, `${file.path}: `);
  const params = { ...base, ...(s.workload!.implies?.(workload) ?? {}) };
  const fromFile = checkParams(s, file.parameters, `${file.path}: parameters`, params);
  return { workload, params: fromFile };
}

/** A workload (from a file or a repro) through the scenario's schema; its output. */
export async function validateWorkload(s: Scenario, raw: unknown, where: string): Promise<unknown> {
  if (!s.workload) return fail(`${where}scenario ${s.name} has no workload vocabulary`);
  let r;
  try {
    r = await s.workload.schema['~standard'].validate(raw);
  } catch (e) {
    return fail(`${where}workload: the scenario's schema failed (${firstLine(e instanceof Error ? e.message : String(e))})`);
  }
  if (r.issues) return fail(`${where}${issueLine(r.issues[0], 'workload')}`);
  return r.value;
}

/** The scenario's checks of the workload against the final parameters. */
export function checkFixedWorkload(s: Scenario, workload: unknown, params: Params, where: string): void {
  let problem: string | null;
  try {
    problem = s.workload?.check?.(workload, params) ?? null;
  } catch (e) {
    problem = `workload: the scenario's check failed (${firstLine(e instanceof Error ? e.message : String(e))})`;
  }
  if (problem) fail(`${where}${firstLine(problem)}`);
}

/** A repro's fixed workload (validated again: the file may have been edited), or undefined. */
export async function reproWorkload(scenario: Scenario, repro: Repro, params: Params, file: string): Promise<unknown> {
  if (repro.workload === undefined) return undefined;
  const w = await validateWorkload(scenario, repro.workload, `${file}: `);
  checkFixedWorkload(scenario, w, params, `${file}: `);
  return w;
}

/** One schema issue as "field: got VALUE, allowed WHAT" (valibot's expected/received when present). */
export function issueLine(issue: StandardIssue, root: string): string {
  const segs = (issue.path ?? []).map((p) => (typeof p === 'object' && p !== null && 'key' in p ? p.key : p));
  let path = root;
  for (const k of segs) path += typeof k === 'number' ? `[${k}]` : `${path ? '.' : ''}${String(k)}`;
  const i = issue as StandardIssue & { expected?: string | null; received?: string; type?: string };
  const where = path ? `${path}: ` : '';
  const msg = firstLine(issue.message);
  // valibot's own messages start "Invalid ...": say it with the value and what is allowed.
  if (typeof i.received === 'string' && /^Invalid /.test(msg)) {
    if (i.received === 'undefined') return `${where}missing; required${i.expected && !/^"/.test(i.expected) ? ` (${i.expected})` : ''}`;
    return `${where}got ${i.received}, allowed ${i.expected ?? `${i.type ?? 'another value'}`}`;
  }
  return `${where}${msg}`;
}

function firstLine(s: string): string {
  return s.split('\n')[0];
}
