/**
 * Repro files: versioned JSON holding everything `pagerace replay` needs. Reading one checks
 * every field and reports the first problem in one line.
 */
import { readFileSync } from 'node:fs';
import type { Params } from './model/scenario.ts';
import { SCHEDULE_VERSION, type Schedule } from './schedule.ts';

export const REPRO_FORMAT = 'pagerace-repro';
export const REPRO_VERSION = 1;

export interface Repro {
  format: typeof REPRO_FORMAT;
  version: typeof REPRO_VERSION;
  scenario: string;
  parameters: Params;
  bug: string | null;
  strategy: string;
  depth: number;
  /** Exploration seed and the run's index in it. */
  seed: number;
  run: number;
  maxSteps: number;
  /** What the run found: a violation, or (for an errored run) the error at its step. */
  violation: { monitor: string; message: string; step: number } | null;
  error?: { step: number; message: string };
  /** Steps of the run as found, before shrinking. */
  foundSteps: number;
  schedule: Schedule;
  /** Where steps ran (a mode of the scenario; absent: inline); replay uses the same mode. */
  mode?: string;
  /** The fixed workload the runs had (`explore --workload`), in the scenario's vocabulary. */
  workload?: unknown;
  /** A user's scenario module, relative to the repro file's folder (absent: a built-in scenario). */
  module?: string;
}

export class ReproError extends Error {}

export function readRepro(path: string): Repro {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ReproError(`cannot read repro file ${path}: ${code === 'ENOENT' ? 'no such file' : code ?? String(e)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ReproError(`${path} is not valid JSON (${(e as Error).message}); a repro file is the JSON that explore writes`);
  }
  return validateRepro(raw, path);
}

export function validateRepro(raw: unknown, path: string): Repro {
  const bad = (what: string) => new ReproError(`${path}: ${what}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('not a repro file (expected a JSON object)');
  const r = raw as Record<string, unknown>;
  if (r.format !== REPRO_FORMAT) throw bad(`not a repro file (format is ${JSON.stringify(r.format)}, expected "${REPRO_FORMAT}")`);
  if (r.version !== REPRO_VERSION) throw bad(`repro version ${JSON.stringify(r.version)} is not supported; this pagerace reads version ${REPRO_VERSION}`);
  const need = (key: string, ok: (v: unknown) => boolean, what: string) => {
    if (!ok(r[key])) throw bad(`field "${key}" must be ${what}`);
  };
  const isInt = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  need('scenario', (v) => typeof v === 'string', 'a scenario name');
  need('parameters', (v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'an object of parameters');
  need('bug', (v) => v === null || typeof v === 'string', 'a bug variant name or null');
  need('strategy', (v) => typeof v === 'string', 'a strategy name');
  need('seed', isInt, 'a non-negative integer');
  need('maxSteps', (v) => isInt(v) && (v as number) > 0, 'a positive integer');
  need('mode', (v) => v === undefined || (typeof v === 'string' && /^[a-z][a-z0-9-]*$/.test(v)), 'a mode name such as "inline" (or absent)');
  need('module', (v) => v === undefined || (typeof v === 'string' && v.length > 0), 'the path of a scenario module (or absent)');
  const s = r.schedule as Record<string, unknown> | undefined;
  if (typeof s !== 'object' || s === null) throw bad('field "schedule" is missing');
  if (s.version !== SCHEDULE_VERSION) throw bad(`schedule version ${JSON.stringify(s.version)} is not supported; this pagerace reads version ${SCHEDULE_VERSION}`);
  if (!isInt(s.seed)) throw bad('field "schedule.seed" must be a non-negative integer');
  if (!Array.isArray(s.choices) || !s.choices.every((c) => typeof c === 'string')) throw bad('field "schedule.choices" must be a list of step keys');
  if (!Array.isArray(s.data) || !s.data.every((d) => typeof d?.label === 'string' && Number.isInteger(d?.value))) {
    throw bad('field "schedule.data" must be a list of {label, value} data choices');
  }
  return raw as Repro;
}
