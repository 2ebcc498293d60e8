/** A repro of an IOPF bug variant, its inspector and its full trace, made once per test file. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FullTrace } from '../../core/fullTrace.ts';
import type { StepRecord } from '../../core/model/monitor.ts';
import { TraceHasher } from '../../core/trace.ts';
import { cli, type CliResult } from '../helpers.ts';

export interface Fixture {
  dir: string;
  explore: CliResult;
  summary: { firstViolation: { monitor: string; message: string; step: number; repro: string; inspector: string } } & Record<string, unknown>;
  repro: string;
  html: string;
  tracePath: string;
  trace: FullTrace;
}

export function makeFixture(bug = 'response-after-removal'): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'pagerace-inspect-'));
  const explore = cli(['explore', 'iopf', '--bug', bug, '--runs', '300', '--out', dir, '--json']);
  if (explore.status !== 1) throw new Error(`explore found nothing: ${explore.stderr}`);
  const summary = JSON.parse(explore.stdout);
  const tracePath = join(dir, 'trace.jsonl');
  const rep = cli(['replay', summary.firstViolation.repro, '--trace', tracePath]);
  if (rep.status !== 1) throw new Error(`replay did not reproduce: ${rep.stderr}`);
  const lines = readFileSync(tracePath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const trace: FullTrace = { header: lines[0].header, steps: lines.slice(1, -1), end: lines.at(-1).end };
  return { dir, explore, summary, repro: summary.firstViolation.repro, html: summary.firstViolation.inspector, tracePath, trace };
}

/** State value of each actor after position k (-1: the start), computed from the trace. */
export function statesAt(trace: FullTrace, k: number): Record<string, string> {
  const out = Object.fromEntries(Object.entries(trace.header.actors).map(([id, a]) => [id, a.value]));
  for (const s of trace.steps.slice(0, k + 1)) out[s.actor] = s.after;
  return out;
}

/**
 * The trace hash recomputed from the written trace alone: each step line's compact record (its
 * time, step key, state after, messages sent, observation kinds, lock events; core/trace.ts),
 * then the header schedule's data choices. Contexts and shared views are not part of it.
 */
export function hashWithoutContexts(tracePath: string): string {
  const h = new TraceHasher();
  const lines = readFileSync(tracePath, 'utf8').trim().split('\n');
  const header = JSON.parse(lines[0]).header as FullTrace['header'];
  for (const l of lines.slice(1, -1)) {
    // Empty lists are left out of a written line.
    const s = JSON.parse(l);
    h.add({ ...s, sent: s.sent ?? [], obs: s.obs ?? [], locks: s.locks ?? [] } as StepRecord);
  }
  h.addData(header.schedule.data.map((d) => d.value));
  return h.digest();
}
