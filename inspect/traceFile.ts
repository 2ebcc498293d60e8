/**
 * Reading a trace written by `pagerace replay --trace` (JSON Lines: header, steps, end) back
 * into a FullTrace, checking what the inspector relies on and naming the first problem.
 */
import type { FullTrace, TraceEnd, TraceHeader, TraceStep } from '../core/fullTrace.ts';

export class TraceFileError extends Error {}

export function parseTraceJsonl(text: string, path: string): FullTrace {
  const bad = (what: string) => new TraceFileError(`${path}: ${what}`);
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const parsed = lines.map((l, n) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      throw bad(`line ${n + 1} is not JSON; a trace is the JSON Lines file that \`pagerace replay --trace\` writes`);
    }
  });
  const first = parsed[0];
  const last = parsed[parsed.length - 1];
  if (!first || typeof first.header !== 'object' || first.header === null) throw bad('the first line is not a trace header ({"header":…})');
  if (!last || typeof last.end !== 'object' || last.end === null) throw bad('the last line is not a trace end ({"end":…}); the trace is cut short');
  const header = first.header as TraceHeader;
  if (typeof header.actors !== 'object' || header.actors === null || Object.keys(header.actors).length === 0) {
    throw bad('the header lists no actors (older trace format); write it again with `pagerace replay <repro> --trace <file>`');
  }
  if (typeof header.scenario !== 'string') throw bad('the header names no scenario ("scenario" must be a string)');
  for (const [id, a] of Object.entries(header.actors)) {
    const ok = typeof a === 'object' && a !== null && typeof a.kind === 'string' && typeof a.machine === 'string' && typeof a.value === 'string';
    if (!ok) throw bad(`the header's actor "${id}" needs kind, machine and value (strings)`);
  }
  // What the inspector shows from the end line: the hash and the violation.
  const end = last.end as Record<string, unknown>;
  const strs = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number');
  if (typeof end.traceHash !== 'string') throw bad('the end line has no "traceHash" (a string)');
  const v = end.violation as Record<string, unknown> | null | undefined;
  const vOk = v === null || v === undefined || (typeof v === 'object' && typeof v.monitor === 'string' && typeof v.message === 'string' && Number.isInteger(v.step) && strs(v.actors) && strs(v.messages));
  if (!vOk) throw bad('the end line\'s "violation" must be null or {monitor, message, step, actors, messages}');
  const steps = parsed.slice(1, -1) as unknown as TraceStep[];
  steps.forEach((s, n) => {
    const ok = Number.isInteger(s.i) && typeof s.actor === 'string' && typeof s.before === 'string' && typeof s.after === 'string' && typeof s.event?.type === 'string';
    if (!ok) throw bad(`line ${n + 2} is not a step line (needs i, actor, event, before, after)`);
    if (!(s.actor in header.actors)) throw bad(`line ${n + 2}: actor "${s.actor}" is not in the header`);
  });
  return { header, steps, end: last.end as TraceEnd };
}
