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
  const steps = parsed.slice(1, -1) as unknown as TraceStep[];
  steps.forEach((s, n) => {
    const ok = Number.isInteger(s.i) && typeof s.actor === 'string' && typeof s.before === 'string' && typeof s.after === 'string' && typeof s.event?.type === 'string';
    if (!ok) throw bad(`line ${n + 2} is not a step line (needs i, actor, event, before, after)`);
    if (!(s.actor in header.actors)) throw bad(`line ${n + 2}: actor "${s.actor}" is not in the header`);
  });
  return { header, steps, end: last.end as TraceEnd };
}
